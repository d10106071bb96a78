import Foundation
import HTTPTypes
import Hummingbird

/// What every answer of the gateway carries, and what no request may do.
///
/// - A path with a control character (`%00` and the like) gets 400: a file lookup would stop
///   at the NUL and serve `index.html` under whatever type the rest of the name suggests.
/// - Every answer says `X-Content-Type-Options: nosniff` and `Referrer-Policy: no-referrer`;
///   the dashboard's pages also carry a Content-Security-Policy that allows only the
///   gateway's own scripts, styles and connections, and forbids framing (clickjacking).
struct HardeningMiddleware<Context: RequestContext>: RouterMiddleware {
    static var contentSecurityPolicy: String {
        "default-src 'self'; connect-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        // As the file lookup will read it: percent escapes decoded.
        let decoded = path.removingPercentEncoding ?? path
        if decoded.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            throw APIError(.badRequest, "the path holds a control character")
        }
        var response = try await next(request, context)
        response.headers[.xContentTypeOptions] = "nosniff"
        response.headers[.referrerPolicy] = "no-referrer"
        if !path.hasPrefix("/api/"), path != "/healthz", path != "/readyz" {
            response.headers[.contentSecurityPolicy] = Self.contentSecurityPolicy
        }
        return response
    }
}

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

extension HTTPField.Name {
    static let referrerPolicy = Self("Referrer-Policy")!
}
