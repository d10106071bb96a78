import Hummingbird
import Logging
import NIOCore

/// Turns every failure into a JSON error answer, and a wrong method into 405.
///
/// The router answers an unknown path and a known path with the wrong method alike (404);
/// this tells them apart with the table of routes, so a client learns what it did wrong.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let routes: RouteTable

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            return try error.response(from: request, context: context)
        } catch let error as HTTPError {
            return try translate(error, for: request).response(from: request, context: context)
        } catch is NIOTooManyBytesError {
            return try APIError(.contentTooLarge, "request body is larger than the limit").response(from: request, context: context)
        } catch {
            context.logger.error("request failed", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
            return try APIError(.internalServerError, "internal error").response(from: request, context: context)
        }
    }

    private func translate(_ error: HTTPError, for request: Request) -> APIError {
        switch error.status {
        case .notFound:
            if let allowed = routes.route(at: request.uri.path)?.methods, !allowed.contains(request.method) {
                let list = allowed.map(\.rawValue).joined(separator: ", ")
                return APIError(.methodNotAllowed, "\(request.method.rawValue) is not allowed on \(request.uri.path); use \(list)", headers: [.allow: list])
            }
            // Not the whole path: a 64 KB path would come back whole.
            let path = request.uri.path
            return APIError(.notFound, "no such route: \(path.prefix(100))\(path.count > 100 ? "…" : "")")
        case .contentTooLarge:
            return APIError(.contentTooLarge, "request body is larger than the limit")
        default:
            return APIError(error.status, error.body ?? error.status.reasonPhrase.lowercased(), headers: error.headers)
        }
    }
}
