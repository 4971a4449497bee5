import Dispatch
import Foundation
import LiveMigration
import Machine
import Snapshot
import Tracking

/// What the control socket (`ringside ctl`) asks of a running guest. Each call is made on a
/// thread that may block (not an event loop), refuses with one line (`GuestControlError`)
/// what cannot be done now, and never ends the run except `requestStop()`.
extension GuestSession {
    /// Holds every vCPU out of the guest until `resume()`; false if it was paused already.
    public func pause() throws(GuestControlError) -> Bool {
        try checkRunning()
        return try gate.setPaused(true) { machine.pause() }.get()
    }

    /// Lets a paused guest run again; false if it was not paused.
    public func resume() throws(GuestControlError) -> Bool {
        try checkRunning()
        return try gate.setPaused(false) { machine.resume() }.get()
    }

    /// Writes a snapshot of the guest to `path` (see `SnapshotSeries`): paused while it is
    /// written (unless the user paused it already, when it stays paused).
    public func snapshot(to path: String, incrementalFrom base: String?) throws(GuestControlError) -> SnapshotSeries.Written {
        try checkRunning()
        let userPaused = try gate.beginSnapshot().get()
        defer { gate.end(.snapshot) }
        if !userPaused { machine.pause() }
        defer { if !userPaused { machine.resume() } }
        do { return try snapshots.write(to: path, incrementalFrom: base) } catch { throw GuestControlError("\(error)") }
    }

    /// Starts migrating the guest to `host:port` with `options` (as `--migrate-to` would,
    /// one attempt, at once); its progress is in `status()`, its lines go to the session's
    /// events, and if it hands the guest over the run here ends.
    public func migrate(to host: String, port: Int, options: MigrationOptions) throws(GuestControlError) {
        try checkRunning()
        guard tracking.plan.mode.hasPageList else {
            throw GuestControlError("--tracking \(tracking.plan.mode.rawValue) keeps no list of dirty pages to pre-copy from: run with --tracking ring, bitmap or auto")
        }
        if gate.isPaused { throw GuestControlError("the guest is paused: resume it first") }
        if migration?.isRunning == true || controlMigrations.withLock({ $0.contains { $0.isActive } }) {
            throw GuestControlError(MigrationGate.migrationInProgress)
        }
        let plan = OutgoingMigration(host: host, port: port, options: options, attempts: 1, after: nil, atFrame: nil)
        let trigger = MigrationTrigger()
        let driver = MigrationDriver(plan: plan, tracking: tracking, imageBytes: imageBytes, events: events, trigger: trigger,
                                     status: MigrationStatus(), gate: gate)
        controlMigrations.withLock { $0.append(driver) }
        driver.start()
        _ = trigger.requestNow()
    }

    /// Cancels the migration in progress (or planned by `--migrate-to` and not started);
    /// the guest keeps running here. Returns where it was going.
    public func cancelMigration() throws(GuestControlError) -> String {
        let drivers = controlMigrations.withLock { $0 } + (migration.map { [$0] } ?? [])
        for d in drivers where d.cancel() { return d.plan.address }
        throw GuestControlError("no migration is in progress")
    }

    /// The guest now: image, geometry, frames and their rate, tracking, uptime, pause, and
    /// the outgoing migration's progress.
    public func status() -> GuestStatus {
        let config = machine.config
        let mode = machine.displayMode.mode
        let frames = machine.frameCounts
        let start = running.withLock { $0.start }
        let elapsed = ContinuousClock.now - start
        let paused = gate.isPaused
        let ended = machine.isFinished || stopRequested
        var state: GuestStatus.State = ended ? .stopped : paused ? .paused : .running
        if !ended && gate.isMigrating { state = .migrating }
        let perCPU = Double(frames.reduce(0, +)) / Double(max(1, frames.count))
        let startFrames = Double(framesAtStart.reduce(0, +)) / Double(max(1, framesAtStart.count))
        let startNanos = DispatchTime.now().uptimeNanoseconds &- UInt64(max(0, elapsed.components.seconds)) * 1_000_000_000
            &- UInt64(max(0, elapsed.components.attoseconds / 1_000_000_000))
        return GuestStatus(state: state, image: config.image.name, imagePath: config.image.path, width: mode.width, height: mode.height,
                           pitch: mode.pitch, cpus: config.cpus, ramBytes: config.ramBytes, frames: frames,
                           framesPerSecond: frameRate.rate(frames: perCPU, start: (startNanos, startFrames)), tracking: tracking.plan.mode.rawValue,
                           displayMethod: "\(tracking.displayMethod)",
                           uptimeSeconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18,
                           guestUptimeSeconds: Double(machine.uptimeNanos) / 1e9, paused: paused,
                           migration: (controlMigrations.withLock { $0.last } ?? migration)?.progress,
                           lastSnapshot: snapshots.last?.path)
    }

    private func checkRunning() throws(GuestControlError) {
        if machine.isFinished || stopRequested { throw GuestControlError("the guest has stopped") }
    }
}
