import Foundation

/// How fast this machine moves bytes over TCP on 127.0.0.1: `streams` connections at once,
/// each written in 1 MiB pieces by a thread of its own and read by another. Every fan-out
/// byte takes this path, so clients × message bytes ÷ this rate is a floor under the time
/// the last client waits, whatever the gateway does.
/// - Returns: the best aggregate bytes per second of `runs` runs, after one to warm up;
///   nil if the sockets could not be set up.
func loopbackBytesPerSecond(streams: Int = ProcessInfo.processInfo.activeProcessorCount, bytesPerStream: Int = 1 << 30, runs: Int = 3) -> Double? {
    var best: Double?
    for run in 0...runs {
        guard let rate = loopbackRun(streams: streams, bytesPerStream: run == 0 ? bytesPerStream / 4 : bytesPerStream) else { return nil }
        if run > 0 { best = max(best ?? 0, rate) }
    }
    return best
}

private func loopbackRun(streams: Int, bytesPerStream: Int) -> Double? {
    let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard listener >= 0 else { return nil }
    defer { close(listener) }
    var address = loopbackAddress(port: 0)
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(listener, $0, length) == 0 && listen(listener, Int32(streams)) == 0 && getsockname(listener, $0, &length) == 0
        }
    }
    guard bound else { return nil }

    var senders: [Int32] = []
    defer { for sender in senders { close(sender) } }
    for _ in 0..<streams {
        guard let sender = connectedLoopbackSocket(port: UInt16(bigEndian: address.sin_port)) else { return nil }
        senders.append(sender)
    }
    var receivers: [Int32] = []
    defer { for receiver in receivers { close(receiver) } }
    for _ in 0..<streams {
        let receiver = accept(listener, nil, nil)
        guard receiver >= 0 else { return nil }
        receivers.append(receiver)
    }

    let done = DispatchGroup()
    let seconds = measure {
        for (sender, receiver) in zip(senders, receivers) {
            done.enter()
            Thread.detachNewThread {
                var buffer = [UInt8](repeating: 0, count: 1 << 20)
                var got = 0
                while got < bytesPerStream {
                    let count = buffer.withUnsafeMutableBytes { recv(receiver, $0.baseAddress, $0.count, 0) }
                    if count <= 0 { break }
                    got += count
                }
                done.leave()
            }
            done.enter()
            Thread.detachNewThread {
                let chunk = [UInt8](repeating: 0x78, count: 1 << 20)
                var sent = 0
                while sent < bytesPerStream {
                    let count = chunk.withUnsafeBytes { send(sender, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                    if count <= 0 { break }
                    sent += count
                }
                done.leave()
            }
        }
        done.wait()
    }
    return Double(streams * bytesPerStream) / seconds
}
