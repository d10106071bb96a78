import Foundation

/// A Server-Sent Events client over a plain blocking socket, written from docs/protocol.md:
/// reads the response head, then the chunked body, and hands out one event at a time.
/// Used by one task at a time (handed from one to the next, never shared).
final class EventStreamClient: @unchecked Sendable {
    struct Event: Equatable, Sendable {
        var name = "message"
        var id: String?
        var data = ""
        var retry: Int?
    }

    let fd: Int32
    /// The answer's status, status line and headers, and its body when it is not a stream.
    private(set) var status = 0
    private(set) var responseHead = ""
    private(set) var responseBody = ""
    /// The `retry:` the stream gave, once read.
    private(set) var retry: Int?
    /// Comment lines read (keep-alives).
    private(set) var comments = 0
    /// Whether the stream ended with its last chunk (a gateway that ended it on purpose).
    private(set) var endedCleanly = false
    private var chunked = false
    /// Body bytes read and not yet made into events.
    private var pending: [UInt8] = []

    /// Connects and sends `GET path`, with `headers` (`Name: value` lines).
    init(port: Int, path: String = "/sse/realtime_charts", headers: [String] = [], receiveBuffer: Int32? = nil, timeout: TimeInterval = 5) throws {
        fd = try RawWebSocket.connectedSocket(port: port, timeout: timeout, receiveBuffer: receiveBuffer)
        let request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nAccept: text/event-stream\r\n" + headers.map { $0 + "\r\n" }.joined() + "\r\n"
        try send(Array(request.utf8))
        var head: [UInt8] = []
        while !head.suffix(4).elementsEqual([13, 10, 13, 10]) { head.append(try readExactly(1)[0]) }
        responseHead = String(decoding: head, as: UTF8.self)
        status = Int(responseHead.split(separator: " ")[1]) ?? 0
        chunked = responseHead.lowercased().contains("\r\ntransfer-encoding: chunked\r\n")
        if status != 200, let length = header("content-length").flatMap({ Int($0) }), length > 0 {
            responseBody = String(decoding: try readExactly(length), as: UTF8.self)
        }
    }

    deinit { close(fd) }

    /// The value of header `name` in the answer.
    func header(_ name: String) -> String? {
        responseHead.split(separator: "\r\n").first { $0.lowercased().hasPrefix(name.lowercased() + ":") }
            .map { $0.split(separator: ":", maxSplits: 1)[1].trimmingCharacters(in: .whitespaces) }
    }

    /// The next event with data (a `retry:`-only block and comments are noted, not returned).
    func nextEvent() throws -> Event {
        while true {
            if let end = blockEnd() {
                let block = String(decoding: pending[..<end], as: UTF8.self)
                pending.removeFirst(end + 2)
                var event = Event()
                var hasData = false
                for line in block.split(separator: "\n", omittingEmptySubsequences: false) {
                    if line.hasPrefix(":") {
                        comments += 1
                        continue
                    }
                    let parts = line.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
                    var value = parts.count > 1 ? String(parts[1]) : ""
                    if value.hasPrefix(" ") { value.removeFirst() }
                    switch parts[0] {
                    case "event": event.name = value
                    case "id": event.id = value
                    case "data":
                        event.data += (hasData ? "\n" : "") + value
                        hasData = true
                    case "retry":
                        retry = Int(value)
                        event.retry = Int(value)
                    default: break
                    }
                }
                if hasData { return event }
                continue
            }
            try readBody()
        }
    }

    /// Reads until the stream ends; `true` if it ended with its last chunk, `false` if the
    /// connection just closed.
    func readToEnd() throws -> Bool {
        while true {
            do {
                try readBody()
            } catch {
                return endedCleanly
            }
            if endedCleanly { return true }
        }
    }

    /// Where the first complete event block in `pending` ends (the index of its blank line).
    private func blockEnd() -> Int? {
        guard pending.count >= 2 else { return nil }
        for index in 0..<(pending.count - 1) where pending[index] == 10 && pending[index + 1] == 10 { return index }
        return nil
    }

    /// Reads one chunk (or what the socket has, without chunks) into `pending`.
    private func readBody() throws {
        guard chunked else {
            pending += try readSome()
            return
        }
        var sizeLine: [UInt8] = []
        while !sizeLine.suffix(2).elementsEqual([13, 10]) { sizeLine.append(try readExactly(1)[0]) }
        guard let size = Int(String(decoding: sizeLine.dropLast(2), as: UTF8.self), radix: 16) else { throw RawError("a chunk size that is not hex") }
        if size == 0 {
            _ = try readExactly(2)
            endedCleanly = true
            throw RawError("the stream ended")
        }
        pending += try readExactly(size)
        guard try readExactly(2) == [13, 10] else { throw RawError("a chunk without its CRLF") }
    }

    func send(_ bytes: [UInt8]) throws {
        let written = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        guard written == bytes.count else { throw RawError("send failed: errno \(errno)") }
    }

    private func readSome() throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: 65_536)
        let got = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard got > 0 else { throw RawError(got == 0 ? "connection closed" : "receive failed: errno \(errno)") }
        return Array(buffer[..<got])
    }

    private func readExactly(_ count: Int) throws -> [UInt8] {
        try RawWebSocket.readExactly(count, from: fd)
    }
}
