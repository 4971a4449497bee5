import LiveMigration
import Machine
import NIOCore
import NIOPosix
import Synchronization
import Tracking

/// How an outgoing migration ended the run here, if it did.
public enum MigrationOutcome: Sendable {
    /// The guest runs at the destination now.
    case migrated(to: String, report: MigrationReport)
    /// The connection failed after the commit: the guest is stopped here and may run there.
    /// The line says so.
    case outcomeUnknown(String)
}

/// `--migrate-to` (or `ringside ctl ... migrate`): a task that waits for the time or the
/// frame to migrate (or Ctrl+Alt+M, or at once) and runs `MigrationSource`. A failed attempt
/// leaves the guest running here, and the next attempt (if any) starts `after` seconds later;
/// `--migrate-at-frame` has one chance. An attempt starts only when the gate allows it (no
/// pause by the user, no snapshot being written); `cancel()` ends the attempt in progress
/// before its commit and any later one.
final class MigrationDriver: Sendable {
    let plan: OutgoingMigration
    let trigger: MigrationTrigger
    let status: MigrationStatus
    private let tracking: TrackingSession
    /// The image file as it came in a migration stream or snapshot (such a guest has no file).
    private let imageBytes: [UInt8]?
    private let events: SessionEvents
    private let gate: MigrationGate
    private let outcome = Mutex<MigrationOutcome?>(nil)
    private let task = Mutex<EventLoopFuture<Void>?>(nil)
    /// The attempt in progress (its number and what a controller sees of it), and whether
    /// the migration was cancelled.
    private let current = Mutex<(attempt: Int, control: MigrationControl)?>(nil)
    private let cancelled = Atomic<Bool>(false)
    /// Set when `run` returns: no attempt will follow.
    private let over = Atomic<Bool>(false)
    private let lastFailure = Mutex<String?>(nil)

    init(plan: OutgoingMigration, tracking: TrackingSession, imageBytes: [UInt8]?, events: SessionEvents,
         trigger: MigrationTrigger, status: MigrationStatus, gate: MigrationGate) {
        self.plan = plan
        self.trigger = trigger
        self.status = status
        self.tracking = tracking
        self.imageBytes = imageBytes
        self.events = events
        self.gate = gate
    }

    func start() {
        let future = MultiThreadedEventLoopGroup.singleton.any().makeFutureWithTask { [self] in await run() }
        task.withLock { $0 = future }
    }

    /// After the run ended: a migration still waiting gives up, a running one finishes; then
    /// how it ended the run, if it did. Call from a thread that is not an event loop's.
    func join() -> MigrationOutcome? {
        trigger.signal()
        _ = try? task.withLock { $0 }?.wait()
        return outcome.withLock { $0 }
    }

    /// Ends the attempt in progress at its next check before the commit, and any later one;
    /// false when no attempt is running or waiting to start.
    func cancel() -> Bool {
        guard !over.load(ordering: .acquiring), !cancelled.exchange(true, ordering: .acquiringAndReleasing) else { return false }
        current.withLock { $0?.control.cancel() }
        trigger.signal() // one still waiting to start gives up
        return true
    }

    /// How the migration stands, for `status` through the control socket.
    var progress: MigrationProgress {
        let now = current.withLock { $0 }
        let ended = outcome.withLock { $0 }
        var p = MigrationProgress(to: plan.address, line: status.line ?? MigrationStatus.waiting)
        p.attempt = now?.attempt
        p.round = now?.control.lastRound
        if let ended {
            if case .migrated = ended { p.state = .migrated } else { p.state = .outcomeUnknown }
        } else if now != nil {
            p.state = .running
        } else if cancelled.load(ordering: .acquiring) {
            p.state = .cancelled
        } else if let why = lastFailure.withLock({ $0 }) {
            p.state = over.load(ordering: .acquiring) ? .failed : .waiting
            p.failure = why
        }
        return p
    }

    /// Whether an attempt is running now.
    var isRunning: Bool { current.withLock { $0 != nil } }

    /// Whether an attempt is running or may still start.
    var isActive: Bool { !over.load(ordering: .acquiring) }

    private func run() async {
        defer { over.store(true, ordering: .releasing) }
        for attempt in 1...plan.attempts {
            guard await waitForStart(), !tracking.machine.isFinished, !cancelled.load(ordering: .acquiring) else { return }
            if let why = gate.beginMigration() {
                lastFailure.withLock { $0 = why }
                events.migration(.failed(to: plan.address, reason: why))
                status.set("migration to \(plan.address) did not start: \(why)")
                if plan.after == nil { return }
                continue
            }
            trigger.setRunning(true)
            let control = MigrationControl()
            current.withLock { $0 = (attempt, control) }
            if cancelled.load(ordering: .acquiring) { control.cancel() } // cancelled between the check and now
            let ended = await MigrationControl.$current.withValue(control) { await migrate(attempt: attempt) }
            current.withLock { $0 = nil }
            trigger.setRunning(false)
            gate.end(.migrating)
            if ended || plan.after == nil || cancelled.load(ordering: .acquiring) { return } // --migrate-at-frame: that frame has passed
        }
    }

    /// False when the run ended first.
    private func waitForStart() async -> Bool {
        if let after = plan.after {
            // A signal is the run ending first, unless it came from Ctrl+Alt+M.
            if await trigger.wait(timeout: after), !trigger.takeRequest() { return false }
        } else {
            _ = await trigger.wait(timeout: nil)
            _ = trigger.takeRequest()
        }
        return true
    }

    /// One attempt; true when it ended the migrating (handed over, or the run ended first).
    private func migrate(attempt: Int) async -> Bool {
        let to = plan.address
        events.migration(.started(to: to, attempt: attempt, attempts: plan.attempts))
        status.set("migrating to \(to): connecting")
        do {
            let report = try await MigrationSource.migrate(tracking, host: plan.host, port: plan.port, image: tracking.machine.config.image,
                                                           imageBytes: imageBytes, options: plan.options,
                                                           progress: { [status, events] line in
                                                               status.set("to \(to): " + line)
                                                               events.migration(.progress(line))
                                                           })
            status.set(String(format: "migrated to %@ in %d rounds; downtime %.1f ms", to, report.rounds.count, report.downtimeSeconds * 1000))
            outcome.withLock { $0 = .migrated(to: to, report: report) }
            return true
        } catch MigrationError.stoppedAtSource {
            events.migration(.abandoned(to: to, reason: "\(MigrationError.stoppedAtSource)"))
            return true
        } catch let e as MigrationError where { if case .outcomeUnknown = e { return true }; return false }() {
            outcome.withLock { $0 = .outcomeUnknown("migration to \(to): \(e)") }
            return true
        } catch MigrationError.cancelled {
            events.migration(.failed(to: to, reason: "\(MigrationError.cancelled)"))
            status.set("migration to \(to) cancelled; the guest keeps running here")
            return true
        } catch {
            lastFailure.withLock { $0 = "\(error)" }
            events.migration(.failed(to: to, reason: "\(error)"))
            status.set("migration to \(to) failed: \(error)")
            return false
        }
    }
}
