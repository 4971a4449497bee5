import Display
import Machine
import PNGOutput
import SplitView
import Synchronization
import Tracking

/// `--png DIR`: the guest's screen, or with `showSplit` the split view, as PNG files. The
/// dumper is a display sink: per frame (in lockstep, every vCPU held at its doorbell) it syncs,
/// then reads what changed since its previous file; or it writes the last frame at the end,
/// becoming a sink only then.
/// A failed write stops the guest and is thrown by `finish`.
final class FrameDumps: Sendable {
    private struct State {
        var dumper: PNGDumper
        var tracking: TrackingSession?
        var sink: DisplaySink?
        var error: PNGError?
        var changedSinceDump = false
        var canvas = PixelCanvas(width: 1, height: 1)
    }
    private let state: Mutex<State>
    private let showSplit: Bool
    /// Each split-view file shows the pages listed since the previous file, unless
    /// `--migration-rounds` ends the rounds.
    private let endsRounds: Bool
    /// The outgoing migration's latest news, for the split view's second caption line.
    private let migrationStatus: MigrationStatus?
    private let events: SessionEvents
    /// Files only at the end (no `--png-every` or `--png-on-change`, no split view): the sink is
    /// made then, so until then the display has no reader on our account and may idle.
    private let readsOnlyAtTheEnd: Bool

    init(dumper: sending PNGDumper, settings: SessionSettings, migrationStatus: MigrationStatus?, events: SessionEvents) {
        state = Mutex(State(dumper: dumper))
        readsOnlyAtTheEnd = !settings.perFrameDump && !settings.showSplit
        showSplit = settings.showSplit
        endsRounds = settings.showSplit && settings.migrationRoundsMS == nil
        self.migrationStatus = migrationStatus
        self.events = events
    }

    /// The session to read from; before the guest runs.
    func attach(_ tracking: TrackingSession) {
        if showSplit { tracking.trackHeat() } // split-view PNGs tint repainted tiles
        let sink = readsOnlyAtTheEnd ? nil : tracking.makeDisplaySink(name: "png")
        state.withLock { s in
            s.tracking = tracking
            s.sink = sink
        }
    }

    /// Lockstep: every vCPU is held at doorbell `frame`.
    func frameCompleted(_ frame: Int) {
        state.withLock { s in
            guard s.error == nil, let tracking = s.tracking, let sink = s.sink else { return }
            do { try tracking.sync() } catch { events.syncFailed("\(error)") }
            let wrote: Bool = tracking.read(sink) { d, dirty in
                s.changedSinceDump = s.changedSinceDump || !dirty.isEmpty
                let before = s.dumper.filesWritten
                do throws(PNGError) {
                    try s.dumper.frameCompleted(frame: frame, changed: s.changedSinceDump, picture: picture(d, tracking, &s.canvas))
                    s.changedSinceDump = false
                } catch {
                    s.error = error
                }
                return s.dumper.filesWritten > before
            }
            if wrote && endsRounds { _ = tracking.endMigrationRound() }
            if s.error != nil { tracking.machine.stop() }
        }
    }

    /// At the end: writes the last frame (`.lastFrameOnly`), or throws the write that failed.
    /// Returns the dumper's summary line.
    func finish(lastFrame: Int) throws(PNGError) -> String {
        try state.withLock { s throws(PNGError) in
            if let error = s.error { throw error }
            guard let tracking = s.tracking else { return s.dumper.summary }
            // Made now, the sink brings an idle display up to date (the whole frame) first.
            if s.sink == nil { s.sink = tracking.makeDisplaySink(name: "png") }
            let dumper = s.dumper
            try tracking.withDisplay { d throws(PNGError) in
                try dumper.finish(lastFrame: lastFrame, picture: picture(d, tracking, &s.canvas))
            }
            return dumper.summary
        }
    }

    /// What a file shows: the screen with the guest's cursor composited over it (never into
    /// the shadow), or the split view. Called under the session lock, so it reads the list's
    /// pages and the cursor without taking the lock again.
    private func picture(_ d: DisplayTracker, _ tracking: TrackingSession, _ canvas: inout PixelCanvas) -> PNGPicture {
        guard showSplit, let list = tracking.migration else {
            guard let cursor = tracking.cursorLocked, cursor.visible else { return .shadow(d.shadow) }
            let g = d.shadow.geometry
            if canvas.width != g.width || canvas.height != g.height { canvas = PixelCanvas(width: g.width, height: g.height) }
            canvas.blit(from: d.shadow, x: 0, y: 0)
            canvas.composite(cursor)
            return .canvas(canvas)
        }
        let mode = tracking.plan.mode
        let caption = "\(d.lastDirty.popCount) of \(d.grid.count) tiles repainted in the last sync, tracking \(mode.rawValue)"
            + (mode == .auto ? " (\(d.method.rawValue), \(tracking.totalStatsLocked.methodSwitches) switches)" : "")
        let (round, pages) = tracking.pendingPagesLocked(of: list)
        let status = migrationStatus.map { [$0.line ?? MigrationStatus.waiting] } ?? []
        renderSplitView(shadow: d.shadow, heat: tracking.heat, grid: d.grid, slots: MigrationPanel.slots(of: tracking.machine, lit: pages),
                        round: round, caption: [caption] + status, into: &canvas)
        return .canvas(canvas)
    }
}
