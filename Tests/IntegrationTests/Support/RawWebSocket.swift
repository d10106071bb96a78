import CompressNIO
import Foundation
import NIOCore

/// A WebSocket client over a plain blocking socket, for sending what no well-behaved
/// client library would: oversized, fragmented, unmasked or invalid frames; or for
/// connecting and then never reading.
final class RawWebSocket {
    let fd: Int32

    /// Connects and completes the upgrade handshake.
    /// - Parameter receiveBuffer: a small value makes a client that stalls fill up fast.
    /// - Parameter host: the `Host` header (`127.0.0.1:<port>` by default); `headers`: more header lines.
    init(
        port: Int, path: String = "/ws/realtime_charts", receiveBuffer: Int32? = nil, timeout: TimeInterval = 5, extensions: String? = nil,
        host: String? = nil, headers: [String] = []
    ) throws {
        fd = try Self.connectedSocket(port: port, timeout: timeout, receiveBuffer: receiveBuffer)
        let request = "GET \(path) HTTP/1.1\r\nHost: \(host ?? "127.0.0.1:\(port)")\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
            + (extensions.map { "Sec-WebSocket-Extensions: \($0)\r\n" } ?? "") + headers.map { $0 + "\r\n" }.joined() + "\r\n"
        try send(Array(request.utf8))
        var head: [UInt8] = []
        while !head.suffix(4).elementsEqual([13, 10, 13, 10]) {
            head.append(try readExactly(1)[0])
        }
        let text = String(decoding: head, as: UTF8.self)
        responseHead = text
        status = Int(text.split(separator: " ")[1]) ?? 0
        if status != 101,
            let lengthLine = text.split(separator: "\r\n").first(where: { $0.lowercased().hasPrefix("content-length:") }),
            let length = Int(lengthLine.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)), length > 0
        {
            responseBody = String(decoding: try readExactly(length), as: UTF8.self)
        }
    }

    /// A blocking TCP socket connected to 127.0.0.1:`port`, with send and receive timeouts.
    static func connectedSocket(port: Int, timeout: TimeInterval, receiveBuffer: Int32? = nil) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw RawError("socket failed") }
        if var size = receiveBuffer {
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var time = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - timeout.rounded(.down)) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(fd)
            throw RawError("connect failed")
        }
        return fd
    }

    /// The HTTP status of the handshake answer (101 when upgraded).
    private(set) var status = 0
    /// The handshake answer's status line and headers.
    private(set) var responseHead = ""
    /// The body of a handshake answer that was not an upgrade.
    private(set) var responseBody = ""

    deinit { close(fd) }

    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard written > 0 else { throw RawError("send failed: errno \(errno)") }
            offset += written
        }
    }

    /// Sends one frame; client frames are masked unless `masked` is false.
    func sendFrame(opcode: UInt8, payload: [UInt8], fin: Bool = true, masked: Bool = true, rsv1: Bool = false) throws {
        var frame: [UInt8] = [(fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode]
        let maskBit: UInt8 = masked ? 0x80 : 0
        switch payload.count {
        case ..<126: frame.append(maskBit | UInt8(payload.count))
        case ..<65536: frame += [maskBit | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
        default: frame += [maskBit | 127] + (0..<8).reversed().map { UInt8((payload.count >> ($0 * 8)) & 0xFF) }
        }
        if masked {
            let key: [UInt8] = [0x12, 0x34, 0x56, 0x78]
            frame += key
            frame += payload.enumerated().map { $0.element ^ key[$0.offset % 4] }
        } else {
            frame += payload
        }
        try send(frame)
    }

    func readExactly(_ count: Int) throws -> [UInt8] {
        try Self.readExactly(count, from: fd)
    }

    /// `count` bytes from the blocking socket `fd`, or an error once it closes or times out.
    static func readExactly(_ count: Int, from fd: Int32) throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        var offset = 0
        while offset < count {
            let got = buffer[offset...].withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard got > 0 else { throw RawError(got == 0 ? "connection closed" : "receive failed: errno \(errno)") }
            offset += got
        }
        return buffer
    }

    /// Reads until the first text or binary frame; returns its RSV1 bit and payload size.
    func firstDataFrame() throws -> (rsv1: Bool, bytes: Int) {
        while true {
            let (head, payload) = try readFrame()
            if head & 0x0F == 0x1 || head & 0x0F == 0x2 { return (head & 0x40 != 0, payload.count) }
        }
    }

    /// Reads until the next text message and returns it, inflated if it came compressed
    /// (`permessage-deflate`, RSV1 on its first frame).
    func nextInflatedText() throws -> String {
        var message: [UInt8] = []
        var compressed = false
        while true {
            let (head, payload) = try readFrame()
            let opcode = head & 0x0F
            guard opcode == 0x1 || (opcode == 0x0 && !message.isEmpty) else { continue }
            if opcode == 0x1 { compressed = head & 0x40 != 0 }
            message += payload
            guard head & 0x80 != 0 else { continue }
            guard compressed else { return String(decoding: message, as: UTF8.self) }
            // RFC 7692: the sender dropped the empty block a sync flush ends with; put it back.
            var input = ByteBuffer(bytes: message + [0x00, 0x00, 0xFF, 0xFF])
            var output = ByteBuffer()
            output.reserveCapacity(64 << 20)
            let inflater = try ZlibDecompressor(algorithm: .deflate)
            try inflater.inflate(from: &input, to: &output)
            return String(buffer: output)
        }
    }

    /// Reads until the next text message (fragments joined) and returns it.
    func nextText() throws -> String {
        var message: [UInt8] = []
        while true {
            let (head, payload) = try readFrame()
            let opcode = head & 0x0F
            guard opcode == 0x1 || (opcode == 0x0 && !message.isEmpty) else { continue }
            message += payload
            if head & 0x80 != 0 { return String(decoding: message, as: UTF8.self) }
        }
    }

    private func readFrame() throws -> (UInt8, [UInt8]) {
        let head = try readExactly(2)
        var length = Int(head[1] & 0x7F)
        if length == 126 {
            let bytes = try readExactly(2)
            length = Int(bytes[0]) << 8 | Int(bytes[1])
        } else if length == 127 {
            length = try readExactly(8).reduce(0) { $0 << 8 | Int($1) }
        }
        return (head[0], try readExactly(length))
    }

    /// Reads frames until a close frame, skipping data frames.
    /// - Returns: the close code, or `nil` if the connection ended without a close frame.
    func closeCode() throws -> UInt16? {
        try closeFrame()?.code
    }

    /// Reads frames until a close frame, skipping data frames.
    /// - Returns: the close code and reason, or `nil` if the connection ended without a close frame.
    func closeFrame() throws -> (code: UInt16, reason: String)? {
        while true {
            guard let (head, payload) = try? readFrame() else { return nil }
            if head & 0x0F == 0x8 {
                guard payload.count >= 2 else { return (1005, "") }
                return (UInt16(payload[0]) << 8 | UInt16(payload[1]), String(decoding: payload.dropFirst(2), as: UTF8.self))
            }
        }
    }
}

struct RawError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
