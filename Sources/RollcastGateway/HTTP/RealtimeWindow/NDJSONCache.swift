import NIOCore
import RollcastCore
import Synchronization

/// The latest snapshot as NDJSON, made once per snapshot: a client that never reads its answer
/// holds a reference to the shared bytes, not a copy of its own.
final class NDJSONCache: Sendable {
    private let latest = Mutex<(key: String, body: ByteBuffer)?>(nil)

    func ndjson(of snapshot: RelayedSnapshot) throws -> ByteBuffer {
        let key = "\(snapshot.header.runID)/\(snapshot.header.seq)"
        if let cached = latest.withLock({ $0 }), cached.key == key { return cached.body }
        let payload = snapshot.payload
        let ranges = try JSONArraySplitter.elementRanges(in: payload.readableBytesView)
        var body = ByteBuffer()
        body.reserveCapacity(payload.readableBytes + ranges.count)
        for range in ranges {
            body.writeImmutableBuffer(payload.getSlice(at: payload.readerIndex + range.lowerBound, length: range.count)!)
            body.writeInteger(UInt8(ascii: "\n"))
        }
        latest.withLock { $0 = (key, body) }
        return body
    }
}
