import Foundation
import Hummingbird
import NIOCore
import RollcastCore
import Synchronization

/// A request's whole body, read up to a limit.
///
/// A body over the limit gets 413 and the connection closed. A client that sends its whole
/// body before reading the answer (most do) would block in its send if nothing read the rest,
/// so the rest is read and dropped first, for at most ``drainBytes`` or ``drainTime``; one
/// that announced the body with `Expect: 100-continue` never sends it and is answered at once.
enum BoundedBody {
    /// How much of an oversized body is read and dropped before the 413, at most.
    static let drainBytes = 64 << 20
    static let drainTime: Duration = .seconds(2)

    /// The whole body, or 413 past `limit`.
    static func read(_ request: Request, limit: Int) async throws -> ByteBuffer {
        let tooLarge = APIError(.contentTooLarge, "request body is larger than \(limit) bytes", headers: [.connection: "close"])
        let declared = request.headers[.contentLength].flatMap { Int($0) }
        if let declared, declared > limit, request.headers[.expect]?.lowercased() == "100-continue" { throw tooLarge }
        // Set once the body passes the limit: from then on it is read and dropped.
        let overSince = OverLimit()
        let chunks = request.body
        return try await withThrowingTaskGroup(of: ByteBuffer?.self) { group in
            group.addTask {
                var body = ByteBuffer()
                var dropped = 0
                for try await chunk in chunks {
                    if overSince.instant.withLock({ $0 }) == nil, body.readableBytes + chunk.readableBytes <= limit {
                        body.writeImmutableBuffer(chunk)
                        continue
                    }
                    overSince.instant.withLock { $0 = $0 ?? .now }
                    dropped += chunk.readableBytes
                    if dropped > drainBytes { break }
                }
                return overSince.instant.withLock { $0 } == nil ? body : nil
            }
            // Ends the drain of a body that keeps coming, or stops coming, after drainTime.
            group.addTask {
                while true {
                    try await Task.sleep(for: .milliseconds(100))
                    if let since = overSince.instant.withLock({ $0 }), since.duration(to: .now) > drainTime { return nil }
                }
            }
            defer { group.cancelAll() }
            guard let body = try await group.next() ?? nil else { throw tooLarge }
            return body
        }
    }

    /// The body as `T`, or 400 naming what is wrong.
    static func decode<T: Decodable>(_ type: T.Type, from body: ByteBuffer) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(buffer: body))
        } catch {
            throw APIError(.badRequest, DecodingErrorReason.describe(error))
        }
    }

    /// When a body went past its limit, shared by the task reading it and the one timing the drain.
    private final class OverLimit: Sendable {
        let instant = Mutex<ContinuousClock.Instant?>(nil)
    }
}
