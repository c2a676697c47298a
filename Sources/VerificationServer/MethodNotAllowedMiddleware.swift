import Hummingbird
import Synchronization

/// The methods each route of a router answers, by path template, for `MethodNotAllowedMiddleware`.
/// Filled once every route is added (`load(_:)`), read on each unrouted request.
final class RouteMethods: Sendable {
    private let table = Mutex<[(template: [RouterPath.Element], methods: [String])]>([])

    /// Takes the routes of `router` (call after the last route is added).
    func load<Context>(_ router: Router<Context>) {
        var byPath: [String: (template: [RouterPath.Element], methods: Set<String>)] = [:]
        for route in router.routes {
            byPath[route.path.description, default: (route.path.components, [])].methods.insert(route.method.rawValue)
        }
        let rows = byPath.values.map { (template: $0.template, methods: $0.methods.sorted()) }
        table.withLock { $0 = rows }
    }

    /// The methods routed for `path` (sorted; empty when no route template matches it), matched
    /// segment by segment as the router does (captures and `*` one segment, `**` the rest).
    func methods(for path: String) -> [String] {
        let segments = path.split(separator: "/")
        var methods: Set<String> = []
        for row in table.withLock({ $0 }) where Self.matches(row.template, segments) { methods.formUnion(row.methods) }
        return methods.sorted()
    }

    private static func matches(_ template: [RouterPath.Element], _ segments: [Substring]) -> Bool {
        var i = 0
        for element in template {
            if element.description == "**" { return true }
            guard i < segments.count, element ~= segments[i] else { return false }
            i += 1
        }
        return i == segments.count
    }
}

/// A request whose path is routed but not for its method (TRACE, PATCH, PUT, OPTIONS, … on a known
/// path) answers `405 method_not_allowed` with `Allow` listing the methods the path has (RFC 9110
/// §15.5.6, §10.2.1); a path no route has stays `404 not_found`.
struct MethodNotAllowedMiddleware<Context: RequestContext>: RouterMiddleware {
    let routes: RouteMethods

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound && context.endpointPath == "NotFound" {
            // "NotFound" is what Hummingbird's router marks a request no route took with.
            let allowed = routes.methods(for: request.uri.path)
            guard !allowed.isEmpty else { throw error }
            var response = Problem(status: .methodNotAllowed, code: "method_not_allowed",
                                   detail: "\(request.method.rawValue) is not allowed here; this resource allows \(allowed.joined(separator: ", ")).").response()
            response.headers[.allow] = allowed.joined(separator: ", ")
            return response
        }
    }
}
