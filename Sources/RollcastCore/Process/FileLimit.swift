import Foundation

/// The process's limit on open files, which caps its connections: every client is a socket.
public enum FileLimit {
    /// Raises the soft limit to the hard one, as servers do: shells and service managers often
    /// start a process at 1,024 while allowing far more.
    /// - Returns: the soft limit in force afterwards, or `nil` if it cannot be read.
    public static func raiseToHardLimit() -> Int? {
        #if canImport(Glibc)
        let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
        #else
        let resource = RLIMIT_NOFILE
        #endif
        var limit = rlimit()
        guard getrlimit(resource, &limit) == 0 else { return nil }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(resource, &raised) == 0 { limit = raised }
        }
        return Int(clamping: limit.rlim_cur)
    }
}
