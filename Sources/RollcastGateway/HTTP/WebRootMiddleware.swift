import Foundation
import Hummingbird

/// Serves the web root as files, nothing more: whole files only (a `Range` is ignored, so a
/// wrong range cannot yield a wrong slice), and never a file that a symbolic link leads to
/// outside the web root, however the path is spelt, nor a folder's `index.html` that does.
struct WebRootMiddleware<Context: RequestContext>: RouterMiddleware {
    /// The web root with every link resolved.
    let root: String

    init(webRoot: String) {
        root = URL(fileURLWithPath: webRoot).resolvingSymlinksInPath().path
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var head = request.head
        head.headerFields[.range] = nil
        head.headerFields[.ifRange] = nil
        let request = Request(head: head, body: request.body)
        // Decoded as the file lookup decodes it, so `/pass%77d.txt` is the same file as `/passwd.txt`.
        let path = request.uri.path.removingPercentEncoding ?? request.uri.path
        if leadsOutside(root + path) || leadsOutside(root + path + "/index.html") {
            throw APIError(.notFound, "no such route: \(request.uri.path.prefix(100))")
        }
        return try await next(request, context)
    }

    /// Whether `path` names an existing file that, links followed, lies outside the web root.
    private func leadsOutside(_ path: String) -> Bool {
        let target = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        return FileManager.default.fileExists(atPath: target) && target != root && !target.hasPrefix(root + "/")
    }
}
