import Display
import Foundation
import Input
import KVM
import Machine
import PNGOutput
import Snapshot
import Synchronization
import Tracking

/// A running guest, as `ringside run` and `ringside receive` have it: the tracked machine
/// (booted, or received by `receive`), the PNG files, the input script, the sync loop, the
/// timers (--seconds, --stats, --migration-rounds) and the outgoing migration. Reports what
/// happens through `SessionEvents` and ends with a `RunSummary`; never prints or exits. The
/// window and the VNC server read `tracking` as display sinks of their own.
///
/// Threads: the vCPUs and the `refresh` thread are the machine's and the sync loop's; the
/// timers run on NIO's shared event loops, and the outgoing migration is a task there.
public final class GuestSession: Sendable {
    public let tracking: TrackingSession
    public var machine: Machine { tracking.machine }
    public let settings: SessionSettings
    /// The tracking plan made for the settings before the machine was built (`tracking.plan`
    /// differs when the kernel refused the dirty ring and the session fell back to the bitmap).
    public let plannedTracking: TrackingPlan
    /// Where keys and pointer go: the guest's input queue, reported with `logInput`.
    public let input: any InputSink
    /// Frames each vCPU had done when this session got the machine.
    let framesAtStart: [Int]
    /// Whether `start()` starts the machine (a received one was started at the hand-over).
    let startsMachine: Bool
    let events: SessionEvents
    /// What the machine's events call: held here, since the machine holds it only weakly.
    let hooks: MachineHooks
    let dumps: FrameDumps?
    let refresher: SyncLoop?
    /// Held for `--stats`, which reads the figures of every sync (nil without it).
    let statsReader: DisplaySink?
    let migration: MigrationDriver?
    let running = Mutex<(start: ContinuousClock.Instant, timers: [SessionTimer])>((.now, []))
    let stopped = Atomic<Bool>(false)
    /// The image file's contents when the guest has no file of its own (received or restored).
    let imageBytes: [UInt8]?
    /// Who may pause and resume the guest now: migrations, snapshots, the control socket.
    let gate = MigrationGate()
    /// Snapshots to disk (`snapshot(to:incrementalFrom:)`).
    let snapshots: SnapshotSeries
    /// Migrations started through the control socket (`migrate(to:port:options:)`), oldest first.
    let controlMigrations = Mutex<[MigrationDriver]>([])
    /// Frames per second over the last second, for `status()`.
    let frameRate = FrameRateSampler()

    /// The parts made before the machine: the hooks its events call, and the PNG files.
    struct Wiring: Sendable {
        let hooks: MachineHooks
        let dumps: FrameDumps?
        let trigger: MigrationTrigger?
        let status: MigrationStatus?
        let plan: TrackingPlan

        init(settings: SessionSettings, caps: HostCapabilities, events: SessionEvents) throws {
            plan = try TrackingPlan.make(mode: settings.mode, ringEntries: settings.ringEntries, caps: caps,
                                         migration: settings.subscribesMigrationList)
            status = settings.migrateOut.map { _ in MigrationStatus() }
            let status = status
            dumps = try settings.png.map { png in
                FrameDumps(dumper: try PNGDumper(directory: png.directory, policy: png.policy), settings: settings,
                           migrationStatus: status, events: events)
            }
            trigger = settings.migrateOut.map { _ in MigrationTrigger() }
            hooks = MachineHooks(events: events, dumps: dumps, migration: settings.migrateOut, trigger: trigger)
        }

        /// `config` as this session runs it: the frame limit, lockstep for per-frame PNG files.
        func finish(_ config: inout MachineConfig, _ settings: SessionSettings) {
            config.frameLimit = settings.frames
            config.lockstep = settings.perFrameDump
        }

        /// Connects the new session to the parts that read it, before its vCPUs run.
        func attach(_ tracking: TrackingSession) {
            hooks.attach(tracking)
            dumps?.attach(tracking)
        }
    }

    /// Boots `config` (checked already, on `system`) and builds the session around it; the
    /// guest starts with `start()`.
    public static func boot(system: KVMSystem, caps: HostCapabilities, config base: MachineConfig,
                            settings: SessionSettings, events: SessionEvents) throws -> GuestSession {
        let wiring = try Wiring(settings: settings, caps: caps, events: events)
        var config = base
        wiring.finish(&config, settings)
        let tracking = try TrackingSession(system: system, config: config, plan: wiring.plan, tile: settings.tile,
                                           migration: settings.subscribesMigrationList,
                                           events: wiring.hooks.machineEvents(lockstep: settings.perFrameDump))
        wiring.attach(tracking)
        return GuestSession(tracking: tracking, settings: settings, events: events, wiring: wiring, imageBytes: nil, startsMachine: true)
    }

    /// `imageBytes`: the image file as it came in a migration stream or snapshot (nil: the
    /// config's image has a file). `startsMachine`: whether `start()` starts the machine (a
    /// received one was started by the hand-over).
    init(tracking: TrackingSession, settings: SessionSettings, events: SessionEvents, wiring: Wiring, imageBytes: [UInt8]?,
         startsMachine: Bool) {
        self.tracking = tracking
        self.settings = settings
        plannedTracking = wiring.plan
        self.events = events
        self.startsMachine = startsMachine
        self.imageBytes = imageBytes
        snapshots = SnapshotSeries(session: tracking, imageBytes: imageBytes)
        let machine = tracking.machine
        framesAtStart = machine.frameCountsAtStart
        hooks = wiring.hooks
        dumps = wiring.dumps
        input = settings.logInput ? LoggedInput(machine: machine, events: events) : machine.input
        if let script = settings.inputScript {
            // A received or restored guest counts on from its frames: --frames does not limit the script.
            wiring.hooks.attach(InputScriptPlayer.started(script, sink: input, machine: machine,
                                                          frameLimit: imageBytes == nil ? settings.frames : nil, events: events))
        }
        // `--stats` reads every sync's figures: a reader like the window or a VNC client.
        statsReader = settings.stats ? tracking.makeDisplaySink(name: "stats") : nil
        // With no display sink alive (no window, PNG files, VNC client or --stats), a sync only
        // harvests: the shadow is brought up to date when a reader comes.
        refresher = settings.perFrameDump ? nil : SyncLoop(period: 1 / SyncLoop.rate(display: settings.refreshHz, guestHz: machine.config.guestHz)) {
            do { try tracking.syncForReaders() } catch {
                events.syncFailed("\(error)")
                machine.stop()
            }
        }
        if let refresher { wiring.hooks.attach(refresher) }
        if let plan = settings.migrateOut, let trigger = wiring.trigger, let status = wiring.status {
            migration = MigrationDriver(plan: plan, tracking: tracking, imageBytes: imageBytes, events: events, trigger: trigger, status: status,
                                        gate: gate)
        } else {
            migration = nil
        }
    }
}
