import Control
import Foundation
import GuestSession
import KVM
import LiveMigration
import Machine
import VNCTracking

/// One `ringside run` (or `receive`) as the CLI has it: the options checked into
/// `SessionSettings`, the guest (`GuestSession`, booted or received), the window or the VNC
/// server, the lines printed and the exit status.
struct RunSession {
    /// Where the machine comes from.
    enum Origin {
        /// Booted from a guest image (`ringside run`).
        case boot(MachineOptions)
        /// Migrated in from another ringside (`ringside receive`).
        case incoming(IncomingMigration, device: String)
        /// Restored from snapshot files (`ringside run --restore`).
        case restore([String], device: String)
    }
    let options: RunSettings
    let origin: Origin

    /// What the options say, checked in the order the user reads the errors.
    struct Checked {
        enum Guest {
            case boot(MachineConfig)
            case receive(IncomingMigration)
            case restore([String])
        }
        var vnc: VNCListenPlan?
        var settings: SessionSettings
        var system: KVMSystem
        var caps: HostCapabilities
        var guest: Guest
    }

    func execute() throws -> Int32 {
        let checked = try check()
        let receiving: Bool = { if case .receive = checked.guest { return true }; return false }()
        let control = try options.control.start(waiting: waitingLine(checked), receiving: receiving)
        defer { control?.stop() }
        let guest = try makeGuest(checked, control: control)
        let vncService = try checked.vnc.map { try VNCService.start($0, session: guest.tracking, input: guest.input, stats: options.stats,
                                                                             fixedMode: options.output.fixedMode) }
        defer { vncService?.stop() }
        let windowWanted = wantsWindow()
        Console.out(RunLines.header(guest))
        let interrupt = installInterruptHandler { guest.requestStop() }
        defer { interrupt.cancel() }
        guest.start()
        control?.attach(GuestControl(guest)) // once it runs: `status` says "booting" (or "restoring", "waiting") until then
        if windowWanted { try showWindow(guest, vnc: vncService) }
        let summary = try guest.finish()
        return try conclude(summary, guest: guest, vnc: vncService, windowShown: windowWanted)
    }

    /// Every option, before anything boots. (The numbers were range checked as they were
    /// parsed, NumericOptions.swift, so no conversion below can trap.)
    private func check() throws -> Checked {
        let o = options
        let vncPlan = try o.vnc.plan() // refused before anything boots
        let mode = try o.tracking.mode()
        var settings = SessionSettings(mode: mode, ringEntries: o.tracking.ringEntries, tile: try o.tracking.tileSize())
        settings.png = try o.output.pngPolicy().map { PNGSettings(directory: o.output.png ?? "", policy: $0) }
        settings.inputScript = try o.input.loadScript() // a bad line stops the run before boot
        let system: KVMSystem, caps: HostCapabilities, guest: Checked.Guest
        switch origin {
        case .boot(let machine):
            let (s, c, config) = try machine.makeConfig()
            (system, caps, guest) = (s, c, .boot(config))
        case .incoming(let incoming, let device):
            system = try KVMSystem(path: device)
            caps = try HostCapabilities(system: system)
            guest = .receive(incoming)
        case .restore(let files, let device):
            system = try KVMSystem(path: device)
            caps = try HostCapabilities(system: system)
            guest = .restore(files)
        }
        settings.migrateOut = try o.migrate.outgoing()
        if settings.migrateOut != nil && !mode.hasPageList {
            throw Failure("--migrate-to needs --tracking ring or bitmap: --tracking \(mode.rawValue) logs no dirty pages to pre-copy from")
        }
        settings.showSplit = o.output.showSplit
        settings.frames = o.frames
        settings.seconds = o.seconds
        settings.refreshHz = o.refresh
        settings.stats = o.stats
        settings.migrationRoundsMS = o.migrationRoundsMS
        settings.logInput = o.input.logInput
        return Checked(vnc: vncPlan, settings: settings, system: system, caps: caps, guest: guest)
    }

    private func makeGuest(_ c: Checked, control: ControlServer?) throws -> GuestSession {
        let events = RunLines.events(options)
        switch c.guest {
        case .boot(let config): return try GuestSession.boot(system: c.system, caps: c.caps, config: config, settings: c.settings, events: events)
        case .receive(let incoming): return try receive(incoming, c, events: events, control: control)
        case .restore(let files):
            let (guest, restored) = try GuestSession.restore(system: c.system, caps: c.caps, files: files, settings: c.settings, events: events)
            Console.out(RunLines.restored(restored, files: files))
            return guest
        }
    }

    /// What the control socket's `status` says before the guest exists.
    private func waitingLine(_ c: Checked) -> String {
        switch c.guest {
        case .boot: return "booting"
        case .restore: return "restoring"
        case .receive(let incoming): return "waiting for a migration on \(formatAddress(incoming.host, incoming.port))"
        }
    }

    /// Waits for the guest; a signal meanwhile ends the process at once, unless the guest already
    /// started here (then the run stops it, as it stops any guest).
    private func receive(_ incoming: IncomingMigration, _ c: Checked, events: SessionEvents, control: ControlServer?) throws -> GuestSession {
        let stop = DestinationStop()
        let incoming = { var i = incoming; i.stop = stop; return i }()
        let waiting = installInterruptHandler {
            // A guest that already started here is stopped as a run stops it: the run's own
            // handler, installed next, is called at once for a signal that came before it.
            guard stop.discardUnlessStarted() else { return }
            control?.stop()
            Console.error("interrupted: no guest was received")
            exit(1)
        }
        defer { waiting.cancel() }
        do {
            let (guest, report) = try GuestSession.receiveBlocking(
                system: c.system, caps: c.caps, from: incoming, settings: c.settings, events: events,
                listening: {
                    let line = "waiting for a migration on \(formatAddress(incoming.host, $0))"
                    control?.setWaiting(line)
                    Console.out("ringside: " + line)
                },
                progress: { Console.out($0) })
            Console.out(RunLines.received(report))
            return guest
        } catch let e as MigrationError where { if case .cannotListen = e { return true }; return false }() {
            throw e // nothing was received: "nothing was kept" would mislead
        } catch {
            throw Failure("migration failed, nothing was kept: \(error)")
        }
    }

    /// The same decision `ignoredOptionWarnings` makes about opening a window.
    private func wantsWindow() -> Bool {
        guard !options.headless && options.output.png == nil else { return false }
        let environment = ProcessInfo.processInfo.environment
        if environment["DISPLAY"] == nil && environment["WAYLAND_DISPLAY"] == nil {
            Console.out("no display (DISPLAY is not set): running headless")
            return false
        }
        return true
    }

    /// WINDOW: blocks the main thread until the guest stops or the window closes.
    private func showWindow(_ guest: GuestSession, vnc: VNCService?) throws {
        let o = options
        var w = WindowLoopOptions(refreshHz: o.refresh, showDirty: o.output.showDirty, showSplit: o.output.showSplit,
                                  nearest: o.output.nearest, title: "Ringside: \(guest.machine.config.image.name)")
        w.migrationRoundSeconds = o.migrationRoundsMS == nil ? 1 : nil
        w.keepOpenAfterFrames = o.frames != nil
        w.followWindowSize = !o.output.fixedMode
        w.closeRequested = { guest.stopRequested }
        w.input = guest.input
        if o.migrate.migrateTo != nil {
            w.migrationStatus = { guest.migrationStatusLine ?? "" }
            w.migrateNow = {
                if !guest.requestMigrationNow() { Console.error("Ctrl+Alt+M: a migration is already in progress") }
            }
        }
        if let vnc { w.vncCaption = { vnc.titleCaption() } }
        try runWindowLoop(session: guest.tracking, options: w)
    }

    /// The closing lines and the exit status.
    private func conclude(_ s: RunSummary, guest: GuestSession, vnc: VNCService?, windowShown: Bool) throws -> Int32 {
        if let png = s.pngSummary { Console.out(png) }
        for line in RunLines.summary(s, cpus: guest.machine.config.cpus, stats: options.stats) { Console.out(line) }
        if options.input.inputScript != nil || options.input.logInput { Console.out(guest.machine.input.summary) }
        if let vnc, !windowShown, case .framesCompleted = s.outcome { vnc.holdFinalFrame(until: { guest.stopRequested }) }
        switch s.migration {
        case .migrated(let to, let report):
            Console.out(RunLines.migrated(to: to, report))
            if report.compression.mode != "off" { Console.out("migration compression: " + report.compression.line) }
            if options.stats { Console.out("hand-over ms: " + report.handOverLine) }
            return 0
        case .outcomeUnknown(let line): throw Failure(line)
        case nil: return try exitStatus(s.outcome, config: guest.machine.config)
        }
    }

    private func exitStatus(_ outcome: MachineOutcome, config: MachineConfig) throws -> Int32 {
        switch outcome {
        case .framesCompleted, .stopped: return 0
        case .guestExit(let status):
            Console.out("guest exited with status \(status)")
            if status != 0, config.image.declaredABIVersion == nil, config.abiVersion < GuestABI.newest, case .boot = origin {
                // An image from before the version note that was built for a later version
                // fails its own check of the boot info: say how to boot it as that version.
                Console.out(GuestOptions.notelessExitNote(image: config.image.name, bootedAs: config.abiVersion))
            }
            return Int32(truncatingIfNeeded: (status << 1) | 1)
        case .crashed(let crash): throw Failure(crash.description, status: 2)
        case .failed(let e): throw Failure(e.description)
        }
    }
}

/// The first SIGINT (Ctrl-C), SIGTERM or SIGHUP calls `body`, which stops the VM cleanly; a
/// second one exits at once with status 128 + its number (see Signals.swift).
func installInterruptHandler(_ body: @escaping @Sendable () -> Void) -> StopSignals.Registration {
    StopSignals.onFirstSignal(body)
}
