import Foundation
import Synchronization

/// How `ringside run` treats SIGINT (Ctrl-C), SIGTERM and SIGHUP. The first of them stops the
/// guest cleanly: the run ends as after --seconds, with the final harvest, the PNG files and
/// the summary, and status 0. A second one, of any of the three, exits at once with status
/// 128 + its number (130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP) without finishing
/// anything: a PNG file being written is then left under its temporary name, never half
/// written under its real one.
///
/// A signal that was ignored when ringside started (`nohup` ignores SIGHUP) stays ignored.
/// The others are blocked in the main thread before any other thread exists, so every
/// thread started later (vCPUs, refresh, SDL, timers) inherits the block, and one thread
/// takes them with `sigwait`. Nothing runs in a signal handler, and no signal is lost to a
/// thread that happened to be running when it arrived.
final class StopSignals: Sendable {
    static let signals: [Int32] = [SIGINT, SIGTERM, SIGHUP]

    /// What `installInterruptHandler` returns: `cancel()` stops calling the body (a first
    /// signal after that is only counted; a second still exits at once).
    struct Registration: Sendable {
        fileprivate let id: Int
        func cancel() { StopSignals.shared.unregister(id) }
    }

    private struct State {
        var started = false
        var received = 0
        var body: (id: Int, run: @Sendable () -> Void)?
        /// Set by `onEverySignal`: called for each signal, and nothing exits at once.
        var everyBody: (id: Int, run: @Sendable (_ signal: Int32, _ count: Int) -> Void)?
        var nextID = 0
    }
    private static let shared = StopSignals()
    private let state = Mutex(State())

    /// Blocks the signals in the calling thread and starts the thread that waits for them.
    /// Call it from the main thread before any other thread is started; calling it again does
    /// nothing.
    static func start() { shared.startOnce() }

    /// Calls `body` on the first signal: at once if a signal has already arrived (during
    /// start-up, before there was anything to stop).
    static func onFirstSignal(_ body: @escaping @Sendable () -> Void) -> Registration {
        start()
        return shared.register(body)
    }

    /// Calls `body` for every SIGINT, SIGTERM or SIGHUP, with how many have arrived (1 for
    /// the first): a command with its own meaning for a second signal (`ringside bench`:
    /// drop the cells now running, still write the files). Nothing is printed and nothing
    /// exits at once; `body` decides.
    static func onEverySignal(_ body: @escaping @Sendable (_ signal: Int32, _ count: Int) -> Void) -> Registration {
        start()
        let id = shared.state.withLock { s in
            s.nextID += 1
            s.everyBody = (s.nextID, body)
            return s.nextID
        }
        return Registration(id: id)
    }

    static func name(_ signal: Int32) -> String {
        switch signal {
        case SIGINT: return "SIGINT"
        case SIGTERM: return "SIGTERM"
        case SIGHUP: return "SIGHUP"
        default: return "signal \(signal)"
        }
    }

    private func startOnce() {
        guard state.withLock({ s in defer { s.started = true }; return !s.started }) else { return }
        var set = sigset_t()
        sigemptyset(&set)
        // A signal ignored when ringside started stays ignored, as `nohup` and shells expect.
        for s in Self.signals where !Self.ignoredAtStart(s) { sigaddset(&set, s) }
        pthread_sigmask(SIG_BLOCK, &set, nil)
        let waitSet = set
        let t = Thread { [self] in
            var set = waitSet
            while true {
                var signal: Int32 = 0
                if sigwait(&set, &signal) == 0 { deliver(signal) }
            }
        }
        t.name = "signals"
        t.start()
    }

    private static func ignoredAtStart(_ signal: Int32) -> Bool {
        var action = sigaction()
        guard sigaction(signal, nil, &action) == 0 else { return false }
        return unsafeBitCast(action.__sigaction_handler.sa_handler, to: Int.self) == unsafeBitCast(SIG_IGN, to: Int.self)
    }

    private func register(_ run: @escaping @Sendable () -> Void) -> Registration {
        let (id, alreadySignalled) = state.withLock { s in
            s.nextID += 1
            s.body = (s.nextID, run)
            return (s.nextID, s.received > 0)
        }
        if alreadySignalled { run() }
        return Registration(id: id)
    }

    private func unregister(_ id: Int) {
        state.withLock { s in
            if s.body?.id == id { s.body = nil }
            if s.everyBody?.id == id { s.everyBody = nil }
        }
    }

    private func deliver(_ signal: Int32) {
        let (count, run, every) = state.withLock { s in
            s.received += 1
            return (s.received, s.body?.run, s.everyBody?.run)
        }
        if let every { return every(signal, count) }
        if count == 1 {
            let what = signal == SIGINT ? "interrupted (SIGINT)" : "\(Self.name(signal)) received"
            Console.error("\(what): stopping the guest (a second signal exits at once)")
            run?()
        } else {
            Console.error("\(Self.name(signal)) again: exiting at once with status \(128 + signal), without finishing")
            _exit(128 + signal)
        }
    }
}

/// A flag set from the signal thread, read by a loop that checks it between steps.
final class StopRequest: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .releasing) }
    var isSet: Bool { value.load(ordering: .acquiring) }
}
