/// How many connections the gateway holds at once: `--max-clients` plus
/// `--max-http-connections`, but never more than its open-file limit has room for, since
/// every connection is a file descriptor. Past the budget a new connection is closed before a
/// byte is read; were it left to the limit, the gateway itself could no longer open a file to
/// serve or a socket to a producer.
struct ConnectionBudget {
    /// Descriptors kept for the gateway's own use: about 32 at rest (its event loops, ZeroMQ's
    /// sockets and their signals, standard streams), more with several producers, and the
    /// files being served.
    static let reserve = 256
    /// The smallest budget worth starting with.
    static let minimum = 64

    let maxConnections: Int
    /// The open-file limit, when it and not the settings sets the budget.
    let cutByFileLimit: Int?

    /// - Parameter fileLimit: the process's open-file limit; `nil` when it could not be read.
    /// - Throws: ``TooFewFiles`` when the limit cuts the budget below ``minimum`` connections.
    init(maxClients: Int, maxHTTPConnections: Int, fileLimit: Int?) throws {
        let asked = maxClients + maxHTTPConnections
        guard let fileLimit, fileLimit - Self.reserve < asked else {
            maxConnections = asked
            cutByFileLimit = nil
            return
        }
        guard fileLimit - Self.reserve >= Self.minimum else { throw TooFewFiles(limit: fileLimit) }
        maxConnections = fileLimit - Self.reserve
        cutByFileLimit = fileLimit
    }

    struct TooFewFiles: Error, CustomStringConvertible {
        let limit: Int
        var description: String {
            "the open-file limit is \(limit): with \(ConnectionBudget.reserve) kept for the gateway's own files and sockets, that leaves room for "
                + "\(max(0, limit - ConnectionBudget.reserve)) connections; raise it to at least \(ConnectionBudget.reserve + ConnectionBudget.minimum) "
                + "(ulimit -n, or LimitNOFILE= in its systemd unit), or lower --max-clients and --max-http-connections to fit"
        }
    }
}
