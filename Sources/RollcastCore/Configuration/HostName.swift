import Foundation

/// This machine's name, as `hostname` prints it.
public enum HostName {
    /// From `gethostname`: no DNS lookup (Foundation's `ProcessInfo.hostName` resolves the name,
    /// which can block for seconds where DNS is slow or absent).
    public static var local: String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        let name = String(cString: buffer)
        return name.isEmpty ? "localhost" : name
    }
}
