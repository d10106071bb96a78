import Logging
import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Keeps the kernel from queueing more than a little unsent data per client.
///
/// Latest-wins (``SnapshotWriter``) only works on snapshots the gateway still holds. By
/// default the kernel takes whatever fits in a send buffer that grows to megabytes, so a
/// client on a slow link would be fed every old snapshot queued there, seconds stale, before
/// a newer one. With `TCP_NOTSENT_LOWAT` the socket takes new bytes only while less than
/// ``unsentBytesLimit`` waits to be sent; the rest stays with the gateway, where a newer
/// snapshot replaces it. Bytes already sent and not yet acknowledged are not limited, so
/// throughput on long, fast links is not either.
enum UnsentBytesLimit {
    static let unsentBytesLimit = 16 * 1024

    /// Sets the limit on an accepted connection; a platform without the option keeps its
    /// default, which only costs slow clients freshness, so it is logged at debug level.
    static func apply(to channel: any Channel, logger: Logger) {
        let option = ChannelOptions.Types.SocketOption(level: .tcp, name: NIOBSDSocket.Option(rawValue: TCP_NOTSENT_LOWAT))
        do {
            try channel.syncOptions?.setOption(option, value: unsentBytesLimit)
        } catch {
            logger.debug("could not limit unsent bytes", metadata: ["error": "\(error)"])
        }
    }
}
