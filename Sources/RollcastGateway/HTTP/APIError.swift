import Hummingbird

/// An error answer: an HTTP status and a one-line reason, sent as `{"error": "<reason>"}`.
struct APIError: Error, HTTPResponseError {
    let status: HTTPResponse.Status
    let reason: String
    var headers: HTTPFields = [:]

    init(_ status: HTTPResponse.Status, _ reason: String, headers: HTTPFields = [:]) {
        self.status = status
        self.reason = reason
        self.headers = headers
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        var response = JSONBody.response(status: status, ErrorBody(error: reason))
        response.headers.append(contentsOf: headers)
        return response
    }

    struct ErrorBody: Encodable {
        let error: String
    }
}
