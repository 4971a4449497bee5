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

/// `--migrate-to`: a task that waits for the time or the frame to migrate (or Ctrl+Alt+M)
/// and runs `MigrationSource`. A failed attempt leaves the guest running here, and the next
/// attempt (if any) starts `after` seconds later; `--migrate-at-frame` has one chance.
final class MigrationDriver: Sendable {
    let plan: OutgoingMigration
    let trigger: MigrationTrigger
    let status: MigrationStatus
    private let tracking: TrackingSession
    /// The image file as it came in a migration stream (a received guest has no file).
    private let imageBytes: [UInt8]?
    private let events: SessionEvents
    private let outcome = Mutex<MigrationOutcome?>(nil)
    private let task = Mutex<EventLoopFuture<Void>?>(nil)

    init(plan: OutgoingMigration, tracking: TrackingSession, imageBytes: [UInt8]?, events: SessionEvents,
         trigger: MigrationTrigger, status: MigrationStatus) {
        self.plan = plan
        self.trigger = trigger
        self.status = status
        self.tracking = tracking
        self.imageBytes = imageBytes
        self.events = events
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

    private func run() async {
        for attempt in 1...plan.attempts {
            guard await waitForStart(), !tracking.machine.isFinished else { return }
            trigger.setRunning(true)
            let ended = await migrate(attempt: attempt)
            trigger.setRunning(false)
            if ended || plan.after == nil { return } // --migrate-at-frame: that frame has passed
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
        } catch {
            events.migration(.failed(to: to, reason: "\(error)"))
            status.set("migration to \(to) failed: \(error)")
            return false
        }
    }
}
