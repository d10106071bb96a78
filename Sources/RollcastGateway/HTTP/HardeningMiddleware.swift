import Foundation
import HTTPTypes
import Hummingbird

/// What every answer of the gateway carries, and what no request may do.
///
/// - A path with a control character (`%00` and the like) gets 400: a file lookup would stop
///   at the NUL and serve `index.html` under whatever type the rest of the name suggests.
/// - Every answer says `X-Content-Type-Options: nosniff` and `Referrer-Policy: no-referrer`;
///   the dashboard's pages also carry a Content-Security-Policy that allows only the
///   gateway's own scripts, styles and connections, and forbids framing (clickjacking); which
///   answers carry it is the route table's to say (``RouteTable/appliesContentSecurityPolicy(to:)``).
struct HardeningMiddleware<Context: RequestContext>: RouterMiddleware {
    let routes: RouteTable

    static var contentSecurityPolicy: String {
        "default-src 'self'; connect-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        // As the file lookup will read it: percent escapes decoded.
        let decoded = path.removingPercentEncoding ?? path
        // It runs outside ``ErrorMiddleware``, so that error answers carry the headers too:
        // its own refusal is made an answer here.
        var response =
            if decoded.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
                try APIError(.badRequest, "the path holds a control character").response(from: request, context: context)
            } else {
                try await next(request, context)
            }
        response.headers[.xContentTypeOptions] = "nosniff"
        response.headers[.referrerPolicy] = "no-referrer"
        if routes.appliesContentSecurityPolicy(to: path) {
            response.headers[.contentSecurityPolicy] = Self.contentSecurityPolicy
        }
        return response
    }
}

extension HTTPField.Name {
    static let referrerPolicy = Self("Referrer-Policy")!
}
