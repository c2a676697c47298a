import Foundation
import Mustache

/// The hosted page's templates (`Resources/page/*.mustache`, swift-mustache) and static files,
/// loaded once from the bundle.
struct PageRenderer: Sendable {
    let library: MustacheLibrary
    let script: [UInt8]
    let style: [UInt8]

    init() {
        func resource(_ name: String, _ ext: String) -> Data {
            guard let url = InstallLayout.resources.url(forResource: name, withExtension: ext, subdirectory: "Resources/page"),
                  let data = try? Data(contentsOf: url)
            else { preconditionFailure("missing resource page/\(name).\(ext)") }
            return data
        }
        var library = MustacheLibrary()
        for name in ["head", "foot", "start", "verify", "message"] {
            do {
                try library.register(String(decoding: resource(name, "mustache"), as: UTF8.self), named: name)
            } catch {
                preconditionFailure("template page/\(name).mustache does not parse: \(error)")
            }
        }
        self.library = library
        script = Array(resource("page", "js"))
        style = Array(resource("page", "css"))
    }

    /// The HTML of template `name` for `context` (values HTML-escaped by `{{ }}`).
    func render(_ name: String, _ context: [String: Any]) -> String {
        library.render(context, withTemplate: name) ?? ""
    }
}
