import Foundation

/// The latest news of an outgoing migration (connecting, each round, the hand-over, a
/// failure), for the split view's caption and the window; set from the migration thread.
final class MigrationStatus: @unchecked Sendable {
    private let lock = NSLock()
    private var text: String?

    var line: String? {
        lock.lock(); defer { lock.unlock() }
        return text
    }

    func set(_ line: String) {
        lock.lock(); text = line; lock.unlock()
    }
}

/// Ctrl+Alt+M: a request to start the outgoing migration now, refused while one runs.
final class MigrateNowRequest: @unchecked Sendable {
    private let lock = NSLock()
    private var requested = false
    private var running = false

    /// Records the request; false (nothing recorded) while an attempt is running.
    func request() -> Bool {
        lock.lock(); defer { lock.unlock() }
        if running { return false }
        requested = true
        return true
    }

    /// Whether a request came in since the last call (and forgets it).
    func take() -> Bool {
        lock.lock(); defer { lock.unlock() }
        let r = requested
        requested = false
        return r
    }

    func setRunning(_ value: Bool) {
        lock.lock(); running = value; lock.unlock()
    }
}
