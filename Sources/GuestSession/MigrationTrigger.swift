import NIOCore
import NIOPosix
import Synchronization

/// What starts an outgoing migration attempt: a signal (the frame `--migrate-at-frame` names,
/// Ctrl+Alt+M, or the run ending) that the migration task awaits, with or without a time
/// limit. Signals count, like a semaphore's. Ctrl+Alt+M is also recorded as a request, so
/// the task can tell it from the run ending, and refused while an attempt runs.
final class MigrationTrigger: Sendable {
    private struct State {
        var signals = 0
        var waiter: (id: Int, continuation: CheckedContinuation<Bool, Never>)?
        var nextID = 0
        var requested = false
        var running = false
    }
    private let state = Mutex(State())

    func signal() {
        let waiter = state.withLock { s -> CheckedContinuation<Bool, Never>? in
            guard let w = s.waiter else { s.signals += 1; return nil }
            s.waiter = nil
            return w.continuation
        }
        waiter?.resume(returning: true)
    }

    /// True when a signal came, false after `timeout` seconds without one (nil: no limit).
    /// One waiter at a time.
    func wait(timeout: Double?) async -> Bool {
        await withCheckedContinuation { (c: CheckedContinuation<Bool, Never>) in
            let id = state.withLock { s -> Int? in
                if s.signals > 0 { s.signals -= 1; return nil }
                s.nextID += 1
                s.waiter = (s.nextID, c)
                return s.nextID
            }
            guard let id else { return c.resume(returning: true) }
            if let timeout {
                MultiThreadedEventLoopGroup.singleton.any().scheduleTask(in: .nanoseconds(Int64(timeout * 1e9))) { [self] in
                    timeOut(id)
                }
            }
        }
    }

    private func timeOut(_ id: Int) {
        let waiter = state.withLock { s -> CheckedContinuation<Bool, Never>? in
            guard let w = s.waiter, w.id == id else { return nil }
            s.waiter = nil
            return w.continuation
        }
        waiter?.resume(returning: false)
    }

    /// Ctrl+Alt+M: records the request and signals; false (nothing recorded) while an
    /// attempt is running.
    func requestNow() -> Bool {
        let accepted = state.withLock { s -> Bool in
            if s.running { return false }
            s.requested = true
            return true
        }
        if accepted { signal() }
        return accepted
    }

    /// Whether a request came in since the last call (and forgets it).
    func takeRequest() -> Bool {
        state.withLock { s in
            defer { s.requested = false }
            return s.requested
        }
    }

    func setRunning(_ running: Bool) { state.withLock { $0.running = running } }
}
