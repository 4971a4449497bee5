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
