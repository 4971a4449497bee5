import Display
import Foundation
import KVM
import Machine
import PNGOutput
import Tracking

/// One `ringside run`: builds the tracked machine, starts the sinks and the refresh loop,
/// stops on --frames/--seconds/Ctrl-C, and prints the summary.
final class RunSession: @unchecked Sendable {
    let options: RunCommand
    private var session: TrackingSession!
    private var dumper: PNGDumper?
    private var dumpError: PNGError?
    private let outputLock = NSLock()
    private var lastFrame = 0
    private var changedSinceDump = false
    private var splitCanvas = PixelCanvas(width: 1, height: 1)
    /// The PNG dumper's display sink (per-frame dumps).
    private var pngSink: DisplaySink?
    /// Set before the vCPUs start; poked from their doorbells.
    private var refresher: SyncLoop?

    init(options: RunCommand) { self.options = options }

    func execute() throws -> Int32 {
        let o = options
        let mode = try o.tracking.mode()
        let tile = try o.tracking.tileSize()
        let policy = try o.output.pngPolicy()
        // --frames, --seconds, --refresh, --migration-rounds and the other numbers were range
        // checked as they were parsed (NumericOptions.swift), so no conversion below can trap.
        let (system, caps, baseConfig) = try o.machine.makeConfig()
        let migration = o.migrationRoundsMS != nil || o.output.showSplit
        let plan: TrackingPlan
        do {
            plan = try TrackingPlan.make(mode: mode, ringEntries: o.tracking.ringEntries, caps: caps, migration: migration)
        } catch { throw Failure("\(error)") }
        if let dir = o.output.png, let policy {
            do { dumper = try PNGDumper(directory: dir, policy: policy) } catch { throw Failure("\(error)") }
        }

        var config = baseConfig
        config.frameLimit = o.frames
        // Per-frame PNG files must show exactly one guest frame: hold every vCPU at its
        // doorbell while the frame is harvested, copied and written.
        let perFrameDump = policy != nil && policy != .lastFrameOnly
        config.lockstep = perFrameDump
        let cpus = config.cpus
        var events = MachineEvents()
        events.consoleLine = { cpu, line in Console.out(cpus > 1 ? "guest[\(cpu)]: \(line)" : "guest: \(line)") }
        events.frameDone = { [weak self] _, frame in
            guard let self else { return }
            self.session?.noteDoorbell()
            self.refresher?.poke()
            self.outputLock.lock(); self.lastFrame = max(self.lastFrame, frame); self.outputLock.unlock()
        }
        if perFrameDump { events.allFramesDone = { [weak self] frame in self?.dumpFrame(frame) } }
        do {
            session = try TrackingSession(system: system, config: config, plan: plan, tile: tile, migration: migration, events: events)
        } catch { throw Failure("\(error)") }
        let m = session.machine
        if o.output.showSplit && dumper != nil { session.trackHeat() } // split-view PNGs tint repainted tiles
        if dumper != nil { pngSink = session.makeDisplaySink(name: "png") }

        var windowWanted = !o.headless && o.output.png == nil
        if windowWanted && ProcessInfo.processInfo.environment["DISPLAY"] == nil && ProcessInfo.processInfo.environment["WAYLAND_DISPLAY"] == nil {
            Console.out("no display (DISPLAY is not set): running headless")
            windowWanted = false
        }
        Console.out("ringside: \(m.config.image.name) at \(config.width)x\(config.height), \(cpus) vCPU\(cpus > 1 ? "s" : ""), "
            + "\(config.ramBytes >> 20) MiB RAM, tracking \(plan.mode.rawValue) (\(plan.reason)), tile \(tile.width)x\(tile.height)"
            + (config.guestHz > 0 ? ", guest paced at \(config.guestHz) Hz" : ", guest free-running"))

        let closeRequested = StopRequest()
        let interrupt = installInterruptHandler { closeRequested.set(); m.stop() }
        defer { interrupt.cancel() }
        let start = Date()
        if !perFrameDump { refresher = makeRefreshLoop(hz: SyncLoop.rate(display: o.refresh, guestHz: config.guestHz)) }
        m.start()
        let deadline = o.seconds.map { s in startTimer(interval: s) { closeRequested.set(); m.stop() } }
        defer { deadline?.cancel() }
        refresher?.start()
        let statsTimer = o.stats ? startTimer(interval: 1) { [session] in
            Console.out(session!.takeIntervalStats().line(label: "stats"))
        } : nil
        let roundsTimer = o.migrationRoundsMS.map { ms in
            startTimer(interval: Double(ms) / 1000) { [self] in self.printRound() }
        }

        if windowWanted {
            // WINDOW: blocks the main thread until the guest stops or the window closes.
            try runWindowLoop(session: session, options: WindowLoopOptions(
                refreshHz: o.refresh, showDirty: o.output.showDirty, showSplit: o.output.showSplit, nearest: o.output.nearest,
                title: "Ringside: \(m.config.image.name)",
                migrationRoundSeconds: o.migrationRoundsMS == nil ? 1 : nil,
                keepOpenAfterFrames: o.frames != nil, closeRequested: { closeRequested.isSet }))
        }
        let outcome = m.wait()
        let elapsed = Date().timeIntervalSince(start)
        refresher?.stop()
        statsTimer?.cancel()
        roundsTimer?.cancel()

        // Final harvest: the shadow now equals guest memory (every vCPU is stopped).
        do { try session.sync() } catch { throw Failure("\(error)") }
        if let round = o.migrationRoundsMS.flatMap({ _ in session.endMigrationRound() }) { Console.out(Self.describe(round)) }

        if let dumper {
            if let dumpError { throw Failure(dumpError.description) }
            do {
                try session.withDisplay { d throws(PNGError) in try dumper.finish(lastFrame: m.framesCompletedByEveryVCPU, picture: picture(d)) }
            } catch { throw Failure("\(error)") }
            Console.out(dumper.summary)
        }

        let frames = m.frameCounts
        let total = frames.reduce(0, +)
        let perCPU = cpus > 1 ? " (" + frames.enumerated().map { "vCPU \($0.offset): \(String(format: "%.1f", Double($0.element) / elapsed))" }.joined(separator: ", ") + ")" : ""
        Console.out(String(format: "guest frames/s: %.1f%@ over %.2f s, %d frames", Double(total) / Double(cpus) / elapsed, perCPU, elapsed, total))
        let st = session.totalStats
        if o.stats {
            Console.out(st.line(label: "total"))
            let lat = session.sortedLatencies()
            if !lat.isEmpty {
                func pct(_ p: Double) -> Double { Double(lat[min(lat.count - 1, Int(Double(lat.count) * p))]) / 1000 }
                Console.out(String(format: "latency from frame doorbell to shadow: p50 %.1f us, p99 %.1f us (%d samples)", pct(0.5), pct(0.99), lat.count))
            }
        }
        Console.out(String(format: "display: %d syncs (%.1f/s), %.1f dirty tiles per sync", st.syncs, Double(st.syncs) / elapsed,
                           Double(st.dirtyTiles) / Double(max(1, st.syncs))))

        switch outcome {
        case .framesCompleted, .stopped: return 0
        case .guestExit(let status):
            Console.out("guest exited with status \(status)")
            return Int32(truncatingIfNeeded: (status << 1) | 1)
        case .crashed(let crash): throw Failure(crash.description, status: 2)
        case .failed(let e): throw Failure(e.description)
        }
    }

    /// Lockstep callback: every vCPU is held at doorbell `frame`. The dumper is a display
    /// sink: it syncs, then reads what changed since its previous file.
    private func dumpFrame(_ frame: Int) {
        guard let dumper, dumpError == nil else { return }
        do { try session.sync() } catch { Console.error("\(error)") }
        let sink = pngSink!
        let wrote: Bool = session.read(sink) { [self] d, dirty in
            changedSinceDump = changedSinceDump || !dirty.isEmpty
            do {
                let before = dumper.filesWritten
                try dumper.frameCompleted(frame: frame, changed: changedSinceDump, picture: picture(d))
                changedSinceDump = false
                return dumper.filesWritten > before
            } catch {
                dumpError = error as? PNGError
                return false
            }
        }
        // Each split-view file shows the pages listed since the previous file.
        if wrote, options.output.showSplit, options.migrationRoundsMS == nil { _ = session.endMigrationRound() }
        if dumpError != nil { session.machine.stop() }
    }

    /// What a PNG file shows: the screen, or with --show-split the split view. Called under
    /// the session lock, so it reads the list's pages without taking the lock again.
    private func picture(_ d: DisplayTracker) -> PNGPicture {
        guard options.output.showSplit, let list = session.migration else { return .shadow(d.shadow) }
        let caption = "\(d.lastDirty.popCount) of \(d.grid.count) tiles repainted in the last sync, tracking \(session.plan.mode.rawValue)"
        let (round, pages) = session.pendingPagesLocked(of: list)
        renderSplitView(shadow: d.shadow, heat: session.heat, grid: d.grid, slots: migrationSlots(session.machine, pages),
                        round: round, caption: [caption], into: &splitCanvas)
        return .canvas(splitCanvas)
    }

    private func printRound() {
        _ = try? session.sync()
        if let round = session.endMigrationRound() { Console.out(Self.describe(round)) }
    }

    static func describe(_ round: TrackingSession.Round) -> String {
        func ranges(_ pages: [UInt64]) -> String {
            let sorted = pages.sorted()
            var parts: [String] = []
            var i = 0
            while i < sorted.count && parts.count < 8 {
                var j = i
                while j + 1 < sorted.count && sorted[j + 1] == sorted[j] + 1 { j += 1 }
                parts.append(i == j ? "\(sorted[i])" : "\(sorted[i])-\(sorted[j])")
                i = j + 1
            }
            return parts.joined(separator: ",") + (i < sorted.count ? ",..." : "")
        }
        let ram = round.pages.pages(slot: GuestLayout.ramSlot)
        let fb = round.pages.pages(slot: GuestLayout.framebufferSlot)
        return "migration round \(round.number): \(round.total) pages; ram \(ram.count) [\(ranges(ram))]; framebuffer \(fb.count) [\(ranges(fb))]"
    }

    // MARK: - threads and timers

    private func makeRefreshLoop(hz: Double) -> SyncLoop {
        SyncLoop(period: 1 / hz) { [self] in
            do { try session.sync() } catch { Console.error("\(error)"); session.machine.stop() }
        }
    }

    private func startTimer(interval: Double, _ body: @escaping @Sendable () -> Void) -> DispatchSourceTimer {
        let t = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "ringside.timer"))
        t.schedule(deadline: .now() + interval, repeating: interval)
        t.setEventHandler(handler: body)
        t.resume()
        return t
    }
}

/// A flag set from signal and timer queues, read by the window loop.
final class StopRequest: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.lock(); value = true; lock.unlock() }
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
}

/// The first SIGINT (Ctrl-C), SIGTERM or SIGHUP calls `body`, which stops the VM cleanly; a
/// second one exits at once with status 128 + its number (see Signals.swift).
func installInterruptHandler(_ body: @escaping @Sendable () -> Void) -> StopSignals.Registration {
    StopSignals.onFirstSignal(body)
}
