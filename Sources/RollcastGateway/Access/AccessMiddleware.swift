import Foundation
import Hummingbird

/// Applies the ``AccessPolicy`` to plain HTTP requests, and the rule for bodies.
///
/// Every request must name the gateway in `Host` (421 otherwise, 400 without one). A request
/// that changes state (anything but GET and HEAD) from a browser on another origin gets 403, and
/// its body must be `application/json` (415 otherwise): a page on another site cannot send a
/// "simple" `text/plain` POST without a preflight. Allowed other origins get CORS headers and
/// their preflights answered; for the rest the browser's same-origin rule keeps them from reading.
struct AccessMiddleware<Context: RequestContext>: RouterMiddleware {
    let policy: AccessPolicy

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let host = request.head.authority
        if let refusal = policy.hostRefusal(host) { throw APIError(refusal) }
        let origin = request.headers[.origin]
        if request.method == .options { return try preflight(origin: origin, host: host) }
        if request.method != .get, request.method != .head {
            if let refusal = policy.originRefusal(origin, host: host) { throw APIError(refusal) }
            if hasBody(request), !Self.isJSON(request.headers[.contentType]) {
                let given = request.headers[.contentType].map { "'\($0.prefix(60))'" } ?? "none"
                throw APIError(.unsupportedMediaType, "a request body must be sent as Content-Type: application/json; got \(given)")
            }
        }
        var response = try await next(request, context)
        if let origin, policy.isAllowedCrossOrigin(origin) {
            response.headers[.accessControlAllowOrigin] = origin
            response.headers[values: .vary].append("Origin")
        }
        return response
    }

    /// The answer to a CORS preflight: allowed for the gateway's allowed origins only.
    private func preflight(origin: String?, host: String?) throws -> Response {
        guard let origin, policy.isAllowedCrossOrigin(origin) || policy.isAllowed(origin, host: host) else {
            throw APIError(AccessPolicy.Refusal(status: 403, reason: "requests from origin '\((origin ?? "none").prefix(100))' are not allowed; start the gateway with --allowed-origin to allow one"))
        }
        return Response(
            status: .noContent,
            headers: [
                .accessControlAllowOrigin: origin, .accessControlAllowMethods: "GET, POST",
                .accessControlAllowHeaders: "Content-Type, Authorization", .accessControlMaxAge: "600", .vary: "Origin",
            ]
        )
    }

    private func hasBody(_ request: Request) -> Bool {
        if let length = request.headers[.contentLength] { return length != "0" }
        return request.headers[.transferEncoding] != nil
    }

    /// `application/json`, with or without parameters such as `charset`.
    static func isJSON(_ contentType: String?) -> Bool {
        guard let contentType else { return false }
        let media = contentType.split(separator: ";", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        return media == "application/json"
    }
}

extension APIError {
    init(_ refusal: AccessPolicy.Refusal) {
        self.init(HTTPResponse.Status(code: refusal.status), refusal.reason)
    }
}
