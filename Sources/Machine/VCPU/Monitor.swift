import Foundation

/// A value behind a lock, with a condition to wait on until the value says so (a monitor).
/// The vCPU mailboxes and the run's outcome need to wait, which Swift's `Mutex` cannot.
/// Every `withLock`, and every `wait` before it sleeps, wakes the waiters, so a change is
/// never missed.
final class Monitor<State>: @unchecked Sendable {
    // @unchecked: `state` is only read or written with `condition` locked.
    private let condition = NSCondition()
    private var state: State

    init(_ state: State) { self.state = state }

    /// Runs `body` on the state under the lock, then wakes every waiter.
    func withLock<R, E: Error>(_ body: (inout State) throws(E) -> R) throws(E) -> R {
        condition.lock()
        defer { condition.broadcast(); condition.unlock() }
        return try body(&state)
    }

    /// Waits until `ready` returns a value, and returns it; `ready` runs under the lock and
    /// may change the state (for example to take a message, or to say "held"). With a
    /// `deadline` (host monotonic ns, `DispatchTime.uptimeNanoseconds`), returns nil once
    /// it has passed and `ready` still has nothing.
    func wait<R>(untilUptime deadline: UInt64? = nil, for ready: (inout State) -> R?) -> R? {
        condition.lock()
        defer { condition.broadcast(); condition.unlock() }
        while true {
            if let r = ready(&state) { return r }
            condition.broadcast() // `ready` may have changed what others wait for
            guard let deadline else { condition.wait(); continue }
            let left = Int64(bitPattern: deadline &- DispatchTime.now().uptimeNanoseconds)
            if left <= 0 { return nil }
            _ = condition.wait(until: Date(timeIntervalSinceNow: Double(left) / 1e9))
        }
    }
}
