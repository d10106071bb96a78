import Foundation
import RollcastCore

/// What a client of a few symbols needs at the least: per delta message, the message's own
/// fields and its symbols' entries, nothing else. Measured on the unfiltered delta stream of
/// the same gateway: each entry's bytes are cut out of three consecutive delta messages.
enum NeededBytes {
    /// The mean bytes per delta message the clients' sets need (client `i` holds `sets[i % sets.count]`), or nil if none could be read.
    static func measure(port: Int, sets: [[String]], clients: Int) async -> Double? {
        await Task.detached { () -> Double? in
            guard let messages = try? deltaMessages(3, port: port) else { return nil }
            var total = 0.0
            var count = 0
            for message in messages {
                guard let (envelope, entries) = split(message) else { continue }
                for client in 0..<clients {
                    let set = sets[client % sets.count]
                    let kept = set.compactMap { entries[$0] }
                    // The envelope holds an empty `charts` array; the kept entries go in it, comma-separated.
                    total += Double(envelope + kept.reduce(0, +) + max(0, kept.count - 1))
                    count += 1
                }
            }
            return count > 0 ? total / Double(count) : nil
        }.value
    }

    /// A delta message's bytes without its chart entries, and each entry's bytes by symbol.
    static func split(_ message: [UInt8]) -> (envelope: Int, entries: [String: Int])? {
        guard let members = try? JSONArraySplitter.members(in: message), let charts = members.first(where: { $0.key == "charts" }) else { return nil }
        let array = Array(message[charts.value])
        guard let ranges = try? JSONArraySplitter.elementRanges(in: array) else { return nil }
        var entries: [String: Int] = [:]
        for range in ranges {
            let text = String(decoding: array[range].prefix(80), as: UTF8.self)
            guard let start = text.range(of: #""symbol":""#) else { continue }
            entries[String(text[start.upperBound...].prefix { $0 != "\"" })] = range.count
        }
        // `[` and `]` stay; the entries and the commas between them go.
        let inside = ranges.reduce(0) { $0 + $1.count } + max(0, ranges.count - 1)
        return (message.count - inside, entries)
    }

    /// `count` delta messages (after the first, full one) of one unfiltered client.
    static func deltaMessages(_ count: Int, port: Int) throws -> [[UInt8]] {
        guard let fd = connectedLoopbackSocket(port: UInt16(port)) else { throw NeededBytesError.connect }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let request = "GET /ws/realtime_charts HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: rollcast.delta.v1\r\n\r\n"
        _ = Array(request.utf8).withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        var reader = Reader(fd: fd)
        var head: [UInt8] = []
        while !head.suffix(4).elementsEqual([13, 10, 13, 10]) { head.append(try reader.bytes(1)[0]) }
        var messages: [[UInt8]] = []
        while messages.count < count {
            let header = try reader.bytes(2)
            var length = Int(header[1] & 0x7F)
            if length == 126 { length = try reader.bytes(2).reduce(0) { $0 << 8 | Int($1) } }
            if length == 127 { length = try reader.bytes(8).reduce(0) { $0 << 8 | Int($1) } }
            let payload = try reader.bytes(length)
            if header[0] & 0x0F == 0x1, payload.starts(with: Array(#"{"kind":"delta""#.utf8)) { messages.append(payload) }
        }
        return messages
    }

    private struct Reader {
        let fd: Int32

        mutating func bytes(_ count: Int) throws -> [UInt8] {
            var buffer = [UInt8](repeating: 0, count: count)
            var offset = 0
            while offset < count {
                let got = buffer[offset...].withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                guard got > 0 else { throw NeededBytesError.closed }
                offset += got
            }
            return buffer
        }
    }

    enum NeededBytesError: Error {
        case connect
        case closed
    }
}
