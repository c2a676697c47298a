// InstallLayout: where an installed verigate finds the files it ships beside its binary. `make
// install` and the Debian package (README "Install and run as a service") put the binary at
// `<prefix>/bin/verigate` and the rest under `<prefix>/share/verigate`: the call prompts and the
// core's resources (the hosted page's templates, openapi.yaml).

import Foundation

/// The installed layout, found from the running executable: `<prefix>/bin/verigate` beside
/// `<prefix>/share/verigate`.
public enum InstallLayout {
    /// The folder of the running executable, symbolic links resolved (`/proc/self/exe`, as
    /// SwiftPM's own resource lookup does); nil when the system cannot say.
    public static let executableDirectory: URL? = {
        let link = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? Bundle.main.executablePath
        return link.map { URL(fileURLWithPath: $0).resolvingSymlinksInPath().deletingLastPathComponent() }
    }()

    /// `<executable dir>/../share/verigate`, standardized (whether or not it exists).
    public static var shareDirectory: URL? {
        executableDirectory?.deletingLastPathComponent().appendingPathComponent("share/verigate").standardizedFileURL
    }

    /// The folder name of the core's resource bundle, as SwiftPM builds it next to the binary.
    public static let resourceBundleName = "Verigate_VerificationServer.resources"

    /// The core's resources: the installed copy under `share/verigate` when there is one, else
    /// SwiftPM's bundle (beside the binary, or in the build folder it was built in). Looked at
    /// first so that an installed binary never depends on its build folder still existing.
    static let resources: Bundle = {
        if let installed = shareDirectory?.appendingPathComponent(resourceBundleName).path, let bundle = Bundle(path: installed) {
            return bundle
        }
        return Bundle.module
    }()
}
