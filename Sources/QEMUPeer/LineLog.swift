import Synchronization

/// Lines a child process printed, kept in order, from any thread: the boot stub's refusal,
/// a migration's summary, a VNC server's port.
public final class LineLog: Sendable {
    private let lines = Mutex<[String]>([])

    public init() {}

    public func append(_ line: String) { lines.withLock { $0.append(line) } }

    /// The newest line.
    public var last: String? { lines.withLock { $0.last } }

    /// Whether any line contains `text`.
    public func contains(_ text: String) -> Bool { lines.withLock { $0.contains { $0.contains(text) } } }

    /// The oldest line that begins with `prefix`.
    public func first(prefix: String) -> String? { lines.withLock { $0.first { $0.hasPrefix(prefix) } } }
}
