import Display
import Foundation
import Input
import KVM
import LiveMigration
import Machine
import MigrationWire
import PNGOutput
import Tracking

/// One `ringside run` (or `receive`): builds the tracked machine (or takes it in from a
/// migration), starts the sinks and the sync loop, migrates it out if asked, stops on
/// --frames/--seconds/a signal, and prints the summary.
final class RunSession: @unchecked Sendable {
    /// Where the machine comes from.
    enum Origin {
        /// Booted from a guest image (`ringside run`).
        case boot(MachineOptions)
        /// Migrated in from another ringside (`ringside receive`).
        case incoming(host: String, port: Int, device: String, timeout: Double, memoryLimit: UInt64?)
    }
    let options: RunSettings
    let origin: Origin
    /// Set by a migration that handed the guest over: the run then ends here.
    private var migratedOut: (to: String, report: MigrationReport)?
    /// Set by a migration that failed after the commit: the guest was stopped here and may
    /// run at the destination. The run then ends with this line and status 1.
    private var handOverUnknown: String?
    /// Lets a frame doorbell start a `--migrate-at-frame` migration.
    private let migrationGate = DispatchSemaphore(value: 0)
    /// Ctrl+Alt+M in the window: migrate now instead of at --migrate-after / --migrate-at-frame.
    private let migrateNow = MigrateNowRequest()
    private var session: TrackingSession!
    private var dumper: PNGDumper?
    private var dumpError: PNGError?
    private let outputLock = NSLock()
    private var lastFrame = 0
    private var changedSinceDump = false
    private var splitCanvas = PixelCanvas(width: 1, height: 1)
    /// Shown under the split view while a --migrate-to run lasts.
    private let migrationStatus = MigrationStatus()
    private var migrating = false
    /// The PNG dumper's display sink (per-frame dumps).
    private var pngSink: DisplaySink?
    /// Set before the vCPUs start; poked from their doorbells.
    private var refresher: SyncLoop?
    /// The guest image file as it came in the stream (a migrated-in guest has no file of its
    /// own), so an onward --migrate-to can send it on.
    private var receivedImage: [UInt8]?
    /// Opens once `session` and the PNG sink exist. A migrated-in machine is started by the
    /// hand-over, before they do, and its first lockstep doorbell must wait for them.
    private let sinksReady = Gate()
    /// `--input-script`: set once the machine exists (under `outputLock`), then played from
    /// vCPU 0's doorbells.
    private var inputPlayer: InputScriptPlayer?

    init(options: RunSettings, origin: Origin) {
        self.options = options
        self.origin = origin
    }

    func execute() throws -> Int32 {
        let o = options
        let vncPlan = try o.vnc.plan() // refused before anything boots
        let mode = try o.tracking.mode()
        let tile = try o.tracking.tileSize()
        let policy = try o.output.pngPolicy()
        let script = try o.input.loadScript() // a bad line stops the run before boot
        // --frames, --seconds, --refresh, --migration-rounds and the other numbers were range
        // checked as they were parsed (NumericOptions.swift), so no conversion below can trap.
        let system: KVMSystem, caps: HostCapabilities, baseConfig: MachineConfig?
        switch origin {
        case .boot(let machineOptions):
            let made = try machineOptions.makeConfig()
            (system, caps, baseConfig) = (made.0, made.1, made.2)
        case .incoming(_, _, let device, _, _):
            do {
                system = try KVMSystem(path: device)
                caps = try HostCapabilities(system: system)
            } catch { throw Failure("\(error)") }
            baseConfig = nil
        }
        let migrateOut = try o.migrate.plan()
        if migrateOut != nil && !mode.hasPageList {
            throw Failure("--migrate-to needs --tracking ring or bitmap: --tracking \(mode.rawValue) logs no dirty pages to pre-copy from")
        }
        let migration = o.migrationRoundsMS != nil || o.output.showSplit
        let plan: TrackingPlan
        do {
            plan = try TrackingPlan.make(mode: mode, ringEntries: o.tracking.ringEntries, caps: caps, migration: migration)
        } catch { throw Failure("\(error)") }
        if let dir = o.output.png, let policy {
            do { dumper = try PNGDumper(directory: dir, policy: policy) } catch { throw Failure("\(error)") }
        }

        // Per-frame PNG files must show exactly one guest frame: hold every vCPU at its
        // doorbell while the frame is harvested, copied and written.
        let perFrameDump = policy != nil && policy != .lastFrameOnly
        var events = MachineEvents()
        events.consoleLine = { [weak self] cpu, line in
            let many = (self?.session?.machine.config.cpus ?? 1) > 1
            Console.out(many ? "guest[\(cpu)]: \(line)" : "guest: \(line)")
        }
        let atFrame = o.migrate.migrateAtFrame
        events.frameDone = { [weak self] cpu, frame in
            guard let self else { return }
            self.session?.noteDoorbell()
            self.refresher?.poke()
            self.outputLock.lock(); self.lastFrame = max(self.lastFrame, frame); self.outputLock.unlock()
            if let atFrame, cpu == 0, frame == atFrame { self.migrationGate.signal() }
            self.outputLock.lock(); let player = self.inputPlayer; self.outputLock.unlock()
            player?.frameDone(cpu: cpu, frame: frame) // before the machine delivers input for the next frame
        }
        if perFrameDump { events.allFramesDone = { [weak self] frame in self?.dumpFrame(frame) } }
        let refusals = ModeRefusals()
        events.modeRefused = { cpu, why in
            if refusals.isNew(why) { Console.error("warning: the guest (vCPU \(cpu)) asked for a display \(why); the old mode stays") }
        }
        let frameLimit = o.frames
        @Sendable func finish(_ c: inout MachineConfig) {
            c.frameLimit = frameLimit
            c.lockstep = perFrameDump
        }
        switch origin {
        case .boot:
            var config = baseConfig!
            finish(&config)
            do {
                session = try TrackingSession(system: system, config: config, plan: plan, tile: tile, migration: migration, events: events)
            } catch { throw Failure("\(error)") }
        case .incoming(let host, let port, _, let timeout, let memoryLimit):
            let waiting = installInterruptHandler { Console.error("interrupted: no guest was received"); exit(1) }
            let eventsCopy = events
            do {
                let (s, report) = try MigrationDestination.receiveBlocking(
                    host: host, port: port, timeout: timeout,
                    listening: { Console.out("ringside: waiting for a migration on \(formatAddress(host, $0))") },
                    build: { [self] wire, image in
                        receivedImage = wire.image
                        var c = try wire.machineConfig(image: image, memoryLimit: memoryLimit)
                        finish(&c)
                        try c.validate(maxVCPUs: caps.usableVCPUs)
                        return try TrackingSession(system: system, config: c, plan: plan, tile: tile, migration: migration,
                                                   events: eventsCopy, incoming: true)
                    },
                    progress: { Console.out($0) })
                session = s
                Console.out(String(format: "migration received from %@: %d rounds, %d pages, %.1f MiB in %.2f s; downtime %.1f ms%@",
                                   report.source, report.rounds, report.pages, Double(report.bytes) / 1048576, report.seconds,
                                   report.downtimeSeconds * 1000, report.verifiedPages > 0 ? "; \(report.verifiedPages) pages verified" : ""))
            } catch let e as MigrationError where { if case .cannotListen = e { return true }; return false }() {
                waiting.cancel()
                throw Failure("\(e)") // nothing was received: "nothing was kept" would mislead
            } catch {
                waiting.cancel()
                throw Failure("migration failed, nothing was kept: \(error)")
            }
            waiting.cancel()
        }
        let config = session.machine.config
        let cpus = config.cpus
        let framesAtStart = session.machine.frameCounts
        let m = session.machine
        if o.output.showSplit && dumper != nil { session.trackHeat() } // split-view PNGs tint repainted tiles
        if dumper != nil { pngSink = session.makeDisplaySink(name: "png") }
        sinksReady.open()
        let inputSink: any InputSink = o.input.logInput ? LoggedInputSink(machine: m) : m.input
        if let script {
            var limit: Int? = nil
            if case .boot = origin { limit = o.frames }
            let player = startInputScript(script, path: o.input.inputScript ?? "", sink: inputSink, machine: m, frameLimit: limit)
            outputLock.lock(); inputPlayer = player; outputLock.unlock()
        }
        let vncService = try vncPlan.map { try VNCService.start($0, session: session, input: inputSink, stats: o.stats) }
        defer { vncService?.stop() }

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
        if case .boot = origin { m.start() } // an incoming machine was started at the hand-over
        migrating = migrateOut != nil
        let migrator = migrateOut.map { startMigration(to: $0.host, port: $0.port, options: $0.options, attempts: o.migrate.attempts ?? 1,
                                                        after: o.migrate.migrateAfter ?? (o.migrate.migrateAtFrame == nil ? 1 : nil)) }
        let deadline = o.seconds.map { s in startTimer(interval: s) { closeRequested.set(); m.stop() } }
        defer { deadline?.cancel() }
        refresher?.start()
        let statsTimer = o.stats ? startTimer(interval: 1) { [session] in
            let stats = session!.takeIntervalStats()
            Console.out(stats.line(label: "stats"))
            for line in stats.switchLines { Console.out(line) } // each of auto's switches, with its reason
        } : nil
        let roundsTimer = o.migrationRoundsMS.map { ms in
            startTimer(interval: Double(ms) / 1000) { [self] in self.printRound() }
        }

        if windowWanted {
            let status = migrationStatus
            let statusLine: (@Sendable () -> String)? = migrating ? { @Sendable in status.line ?? "migration: waiting to start" } : nil
            // WINDOW: blocks the main thread until the guest stops or the window closes.
            try runWindowLoop(session: session, options: WindowLoopOptions(
                refreshHz: o.refresh, showDirty: o.output.showDirty, showSplit: o.output.showSplit, nearest: o.output.nearest,
                title: "Ringside: \(m.config.image.name)",
                migrationRoundSeconds: o.migrationRoundsMS == nil ? 1 : nil,
                migrationStatus: statusLine,
                keepOpenAfterFrames: o.frames != nil, followWindowSize: !o.output.fixedMode, closeRequested: { closeRequested.isSet }, input: inputSink,
                migrateNow: migrateOut == nil ? nil : migrateNowAction,
                vncCaption: vncService.map { v in { v.titleCaption() } }))
        }
        let outcome = m.wait()
        let elapsed = Date().timeIntervalSince(start)
        migrationGate.signal() // a --migrate-at-frame migration still waiting gives up
        migrator?.join()
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

        // Frames drawn here: a migrated guest arrived with the source's counts.
        let frames = zip(m.frameCounts, framesAtStart).map { $0 - $1 }
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
            let sets = session.modeSetLatenciesNanos()
            if !sets.isEmpty {
                Console.out("mode sets: \(sets.count), from the DISPI ENABLE write to the first new frame in the shadow: "
                    + sets.prefix(16).map { String(format: "%.2f", Double($0) / 1e6) }.joined(separator: ", ") + " ms"
                    + ", now \(m.displayMode.mode)")
                let costs = session.modeSetVMMCostsNanos()
                Console.out("mode sets, the VMM's part (rebuild grid and shadow + whole-frame copy): "
                    + costs.prefix(16).map { String(format: "%.2f+%.2f", Double($0.rebuild) / 1e6, Double($0.copy) / 1e6) }.joined(separator: ", ") + " ms")
            }
        }
        Console.out(String(format: "display: %d syncs (%.1f/s), %.1f dirty tiles per sync", st.syncs, Double(st.syncs) / elapsed,
                           Double(st.dirtyTiles) / Double(max(1, st.syncs))))
        if script != nil || o.input.logInput { Console.out(m.input.summary) }
        if let vncService, !windowWanted, case .framesCompleted = outcome { vncService.holdFinalFrame(until: { closeRequested.isSet }) }

        if let (to, r) = migratedOut {
            Console.out(String(format: "migrated to %@: %d rounds, %.1f MiB in %.2f s (%.0f MiB/s), last round %d pages; downtime %.1f ms",
                               to, r.rounds.count,
                               Double(r.totalBytes) / 1048576, r.seconds, r.bandwidth / 1048576, r.finalPages, r.downtimeSeconds * 1000))
            if o.stats { Console.out("hand-over ms: " + r.handOverLine) }
            return 0
        }
        if let handOverUnknown { throw Failure(handOverUnknown) }
        switch outcome {
        case .framesCompleted, .stopped: return 0
        case .guestExit(let status):
            Console.out("guest exited with status \(status)")
            if status != 0, config.image.declaredABIVersion == nil, config.abiVersion < GuestABI.newest, case .boot = origin {
                // An image from before the version note that was built for a later version
                // fails its own check of the boot info: say how to boot it as that version.
                Console.out("ringside: note: \(config.image.name) declares no guest ABI version, so it was booted as version \(config.abiVersion); "
                    + "an image built for a later version without the note runs with --guest-abi VERSION")
            }
            return Int32(truncatingIfNeeded: (status << 1) | 1)
        case .crashed(let crash): throw Failure(crash.description, status: 2)
        case .failed(let e): throw Failure(e.description)
        }
    }

    /// Lockstep callback: every vCPU is held at doorbell `frame`. The dumper is a display
    /// sink: it syncs, then reads what changed since its previous file.
    private func dumpFrame(_ frame: Int) {
        guard let dumper, dumpError == nil else { return }
        sinksReady.wait()
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
            + (session.plan.mode == .auto ? " (\(d.method.rawValue), \(session.totalStatsLocked.methodSwitches) switches)" : "")
        let (round, pages) = session.pendingPagesLocked(of: list)
        renderSplitView(shadow: d.shadow, heat: session.heat, grid: d.grid, slots: migrationSlots(session.machine, pages),
                        round: round, caption: [caption] + migrationCaption(), into: &splitCanvas)
        return .canvas(splitCanvas)
    }

    /// What Ctrl+Alt+M does when there is a --migrate-to destination.
    private var migrateNowAction: @Sendable () -> Void {
        let request = migrateNow, gate = migrationGate
        return {
            if request.request() { gate.signal() } else { Console.error("Ctrl+Alt+M: a migration is already in progress") }
        }
    }

    /// The split view's second caption line during a --migrate-to run.
    private func migrationCaption() -> [String] {
        migrating ? [migrationStatus.line ?? "migration: waiting to start"] : []
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

    /// Migrates the guest out on a thread of its own, after `after` seconds or at the frame
    /// `--migrate-at-frame` names; a failed attempt leaves the guest running here and says
    /// why in one line, and the next attempt (if any) starts `after` seconds later.
    private func startMigration(to host: String, port: Int, options: MigrationOptions, attempts: Int, after: Double?) -> MigrationThread {
        let image = session.machine.config.image
        let imageBytes = receivedImage
        let t = MigrationThread { [self] in
            for attempt in 1...attempts {
                if let after {
                    // A signal is the run ending first, unless it came from Ctrl+Alt+M.
                    if migrationGate.wait(timeout: .now() + after) == .success, !migrateNow.take() { return }
                } else {
                    migrationGate.wait()
                    _ = migrateNow.take()
                }
                if session.machine.isFinished { return }
                migrateNow.setRunning(true)
                defer { migrateNow.setRunning(false) }
                let to = formatAddress(host, port)
                Console.out("migrating to \(to)" + (attempts > 1 ? " (attempt \(attempt) of \(attempts))" : ""))
                migrationStatus.set("migrating to \(to): connecting")
                do {
                    let report = try MigrationSource.migrateBlocking(session, host: host, port: port, image: image, imageBytes: imageBytes, options: options,
                                                             progress: { line in
                                                                 self.migrationStatus.set("to \(to): " + line)
                                                                 if self.options.stats { Console.out(line) }
                                                             })
                    migrationStatus.set(String(format: "migrated to %@ in %d rounds; downtime %.1f ms", to, report.rounds.count, report.downtimeSeconds * 1000))
                    outputLock.lock(); migratedOut = ("\(formatAddress(host, port))", report); outputLock.unlock()
                    return
                } catch MigrationError.stoppedAtSource {
                    Console.error("migration to \(formatAddress(host, port)) abandoned: \(MigrationError.stoppedAtSource)")
                    return
                } catch let e as MigrationError where { if case .outcomeUnknown = e { return true }; return false }() {
                    outputLock.lock(); handOverUnknown = "migration to \(formatAddress(host, port)): \(e)"; outputLock.unlock()
                    return
                } catch {
                    Console.error("migration to \(formatAddress(host, port)) failed, the guest keeps running here: \(error)")
                    migrationStatus.set("migration to \(to) failed: \(error)")
                }
                if after == nil { return } // --migrate-at-frame: that frame has passed
            }
        }
        t.start()
        return t
    }

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

/// A thread that can be joined.
final class MigrationThread: @unchecked Sendable {
    private let body: () -> Void
    private let done = DispatchSemaphore(value: 0)
    init(_ body: @escaping () -> Void) { self.body = body }
    func start() {
        let t = Thread { [self] in body(); done.signal() }
        t.name = "migration"
        t.start()
    }
    func join() { done.wait(); done.signal() }
}

/// Closed until `open()`; then every `wait()` returns at once.
final class Gate: @unchecked Sendable {
    private let condition = NSCondition()
    private var isOpen = false
    func open() { condition.lock(); isOpen = true; condition.broadcast(); condition.unlock() }
    func wait() { condition.lock(); while !isOpen { condition.wait() }; condition.unlock() }
}

/// Which refused display modes were reported: each distinct refusal is printed once, and
/// at most 16, so a guest retrying a bad mode every frame cannot flood the terminal.
final class ModeRefusals: @unchecked Sendable {
    private let lock = NSLock()
    private var seen = Set<String>()
    func isNew(_ why: String) -> Bool {
        lock.lock(); defer { lock.unlock() }
        guard seen.count < 16 else { return false }
        return seen.insert(why).inserted
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
