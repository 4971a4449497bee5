import NIOCore
import NIOPosix
import Synchronization

/// Runs `body` every `interval` seconds (or once, after `interval`) on an event loop of NIO's
/// shared group, at a fixed rate: firings missed while a body ran late are dropped, not
/// caught up. `cancel()` returns once no body is running and none will: the loop is serial.
/// The bodies are short (a statistics line, one sync, a stop).
final class SessionTimer: Sendable {
    private let loop: any EventLoop
    private let interval: Int64
    private let repeats: Bool
    private let body: @Sendable () -> Void
    private let start: NIODeadline
    private let state = Mutex<(cancelled: Bool, next: Scheduled<Void>?)>((false, nil))

    /// Starts the timer.
    init(interval seconds: Double, repeats: Bool = true, _ body: @escaping @Sendable () -> Void) {
        loop = MultiThreadedEventLoopGroup.singleton.any()
        interval = max(1, Int64(seconds * 1e9))
        self.repeats = repeats
        self.body = body
        start = .now()
        schedule(1)
    }

    private func schedule(_ k: Int64) {
        state.withLock { s in
            guard !s.cancelled else { return }
            s.next = loop.scheduleTask(deadline: start + .nanoseconds(interval * k)) { [self] in fire(k) }
        }
    }

    private func fire(_ k: Int64) {
        guard !state.withLock({ $0.cancelled }) else { return }
        body()
        guard repeats else { return }
        let due = (NIODeadline.now() - start).nanoseconds / interval + 1
        schedule(max(k + 1, due))
    }

    /// Stops the timer; waits for a body that is running. Not from an event loop thread.
    func cancel() {
        let cancelled = loop.submit { [self] in
            state.withLock { s in
                s.cancelled = true
                s.next?.cancel()
            }
        }
        _ = try? cancelled.wait()
    }
}
