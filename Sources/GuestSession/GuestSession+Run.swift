import Foundation
import Machine
import Tracking

extension GuestSession {
    /// Starts the sync loop, the machine (unless the hand-over started it), the outgoing
    /// migration and the timers: `--seconds`, `--stats` and `--migration-rounds`.
    public func start() {
        var timers: [SessionTimer] = []
        let startedAt = ContinuousClock.now
        if startsMachine { machine.start() }
        migration?.start()
        if let seconds = settings.seconds {
            // Left armed by finish(): after --frames, a VNC server holding the final frame stops at it.
            _ = SessionTimer(interval: seconds, repeats: false) { [self] in requestStop() }
        }
        refresher?.start()
        if settings.stats {
            timers.append(SessionTimer(interval: 1) { [tracking, events] in events.intervalStats(tracking.takeIntervalStats()) })
        }
        if let ms = settings.migrationRoundsMS {
            timers.append(SessionTimer(interval: Double(ms) / 1000) { [self] in endRound() })
        }
        running.withLock { $0 = (startedAt, timers) }
    }

    /// Ends the run cleanly (a signal, `--seconds`): the machine stops, and the window and a
    /// VNC server holding the final frame see `stopRequested`.
    public func requestStop() {
        stopped.store(true, ordering: .releasing)
        machine.stop()
    }

    public var stopRequested: Bool { stopped.load(ordering: .acquiring) }

    /// Ctrl+Alt+M: migrate now; false while an attempt is running (or without `migrateOut`).
    public func requestMigrationNow() -> Bool { migration?.trigger.requestNow() ?? false }

    /// The outgoing migration's latest news, for the window; nil without `migrateOut`.
    public var migrationStatusLine: String? {
        guard let migration else { return nil }
        return migration.status.line ?? MigrationStatus.waiting
    }

    /// Waits for the machine to end, then stops the rest: the migrations (one still waiting
    /// gives up), the snapshots' page list, the sync loop and the timers. Then the final harvest (with a
    /// display sink alive the shadow then equals guest memory, every vCPU being stopped; with
    /// none, the first reader to come gets it), the last migration round, the last PNG file.
    /// Throws a failed final sync or PNG write.
    public func finish() throws -> RunSummary {
        let outcome = machine.wait()
        let (startedAt, timers) = running.withLock { $0 }
        let seconds = Self.seconds(ContinuousClock.now - startedAt)
        var migrated = migration?.join()
        for driver in controlMigrations.withLock({ $0 }) { migrated = driver.join() ?? migrated }
        snapshots.close()
        refresher?.stop()
        for t in timers { t.cancel() }
        // With no reader the display stays idle: a VNC client holding the final frame wakes it.
        try tracking.syncForReaders()
        if settings.migrationRoundsMS != nil, let round = tracking.endMigrationRound() { events.migrationRound(round) }
        let png = try dumps?.finish(lastFrame: machine.framesCompletedByEveryVCPU)
        return summary(outcome: outcome, seconds: seconds, png: png, migrated: migrated)
    }

    private func summary(outcome: MachineOutcome, seconds: Double, png: String?, migrated: MigrationOutcome?) -> RunSummary {
        var s = RunSummary(outcome: outcome, seconds: seconds, framesPerCPU: zip(machine.frameCounts, framesAtStart).map { $0 - $1 },
                           stats: tracking.totalStats, finalMode: machine.displayMode.mode, pngSummary: png, migration: migrated)
        if settings.stats {
            s.latenciesNanos = tracking.sortedLatencies()
            s.modeSetsNanos = tracking.modeSetLatenciesNanos()
            s.modeSetCostsNanos = tracking.modeSetVMMCostsNanos()
        }
        return s
    }

    /// `--migration-rounds`: a sync, then the round's pages.
    private func endRound() {
        _ = try? tracking.syncForReaders()
        if let round = tracking.endMigrationRound() { events.migrationRound(round) }
    }

    private static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
}
