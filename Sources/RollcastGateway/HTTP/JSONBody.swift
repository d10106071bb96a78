import Foundation
import Hummingbird

/// Builds JSON responses with snake_case keys taken from each type's CodingKeys.
enum JSONBody {
    static func response(status: HTTPResponse.Status = .ok, _ value: some Encodable) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding our own plain structs cannot fail; an empty object is a safe fallback.
        let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
        return response(status: status, json: ByteBuffer(bytes: data))
    }

    /// JSON written already, as it is.
    static func response(status: HTTPResponse.Status = .ok, json: ByteBuffer) -> Response {
        Response(
            status: status,
            headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
            body: .init(byteBuffer: json)
        )
    }
}
