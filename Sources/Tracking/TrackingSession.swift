import Display
import Foundation
import KVM
import Machine
import Synchronization

/// Joins a machine's dirty log to its consumers. A sync (harvest, reset, deliver) feeds the
/// display's tile fold and every migration subscriber; any of them may ask for one. Display
/// sinks read the damage log at their own pace. All syncs, folds, shadow copies, sink reads
/// and migration takes run under one lock, so a display refresh, a ring-full exit on a vCPU
/// thread and a migration round never interleave: each page is delivered once per harvest.
///
/// Made from a machine already built for tracking (`BootedMachine`). Display sinks are in
/// `TrackingSessionSinks.swift`, migration subscribers in `TrackingSessionMigration.swift`,
/// statistics in `TrackingSessionStats.swift`; `--tracking auto`'s decisions in `Auto/`.
///
/// `@unchecked Sendable`: every mutable field is guarded by `lock`, and callers already inside
/// `read`, `withDisplay` or a sync's body use the `…Locked` accessors, which a `Mutex`'s
/// closure cannot offer.
public final class TrackingSession: @unchecked Sendable {
    public let machine: Machine
    public let plan: TrackingPlan
    public let display: DisplayTracker
    /// The subscriber made at boot when `migration` was asked for (`--migration-rounds`,
    /// `--show-split`); others come and go through `subscribeMigration()`.
    public let migration: MigrationSubscriber?
    let harvester: DirtyHarvester
    let lock = NSLock()
    var stats = SessionStatistics()
    /// Time of the oldest frame doorbell not yet reflected in the shadow (ns, 0 = none).
    /// Atomic: a vCPU ringing its doorbell never waits for a sync in progress.
    let oldestUnshownDoorbell = Atomic<UInt64>(0)
    /// `--tracking auto`'s controller (nil for fixed modes).
    var auto: AutoController?
    /// When the previous sync began (auto: the guest's faults are weighed against the interval).
    var lastSyncStart: UInt64 = 0
    /// Heat of recent repaints, aged once per sync, for sinks that draw it (split-view
    /// PNG files); nil until `trackHeat()`, so other runs do not pay for it every sync.
    public internal(set) var heat: DirtyHeatmap?
    /// Called after every sync that repainted something (e.g. to wake VNC clients).
    var syncObservers: [@Sendable () -> Void] = []
    /// The display sinks made so far, held weakly: the live ones are the display's readers.
    var sinkRefs: [WeakDisplaySink] = []
    /// The guest's cursor plane as of the last sync, and how many times it changed
    /// (`TrackingSessionCursor.swift`).
    var cursorState: CursorState?
    var cursorGeneration: UInt64 = 0

    /// A session for `booted`'s machine with tiles of `tile`: the display (and, when the
    /// machine logs RAM, a migration subscriber) subscribed to its harvests, and for
    /// `--tracking auto` the controller, its costs measured now (the fault cost given as
    /// `writeFaultNanos`, else probed once per process). Start the machine after this.
    public init(_ booted: BootedMachine, tile: TileSize, writeFaultNanos: Double? = nil) {
        let m = booted.machine
        machine = m
        plan = booted.plan
        display = DisplayTracker(machine: m, tile: tile, strategy: booted.plan.refresh)
        harvester = DirtyHarvester(machine: m)
        harvester.subscribe(display)
        if booted.logsRAM {
            let sub = MigrationSubscriber(pageCounts: m.slots.map { ($0.id, $0.pageCount) })
            harvester.subscribe(sub)
            migration = sub
        } else {
            migration = nil
        }
        if booted.plan.refresh == .adaptive {
            auto = AutoController(display: display, system: booted.system, logging: booted.plan.logging, writeFaultNanos: writeFaultNanos)
        }
        booted.ringFull.attach(self)
    }

    /// Builds the machine (`BootedMachine`: the plan's logging, the ring's fallback to the
    /// bitmap) and a session for it. Given `restoring`, the machine continues from that
    /// snapshot, its restored pages reaching the display at the first sync; with `incoming`,
    /// it is empty for a migration destination to fill.
    public convenience init(system: KVMSystem, config: MachineConfig, plan: TrackingPlan, tile: TileSize,
                            migration: Bool, events: MachineEvents = MachineEvents(),
                            restoring snapshot: MachineSnapshot? = nil, incoming: Bool = false,
                            writeFaultNanos: Double? = nil) throws(TrackingError) {
        let contents: BootedMachine.Contents = snapshot.map { .restoring($0) } ?? (incoming ? .incoming : .boot)
        let booted = try BootedMachine(system: system, config: config, plan: plan, migration: migration, events: events, contents: contents)
        self.init(booted, tile: tile, writeFaultNanos: writeFaultNanos)
    }

    /// `--tracking auto`: the guest's cost of one dirty-logged write fault the policy weighs (ns).
    public var writeFaultNanos: Double? { auto?.writeFaultNanos }

    /// How the display tracks the framebuffer now (`logged` for every fixed logged mode).
    public var displayMethod: DisplayMethod {
        lock.lock(); defer { lock.unlock() }
        return plan.refresh == .full || plan.refresh == .compare ? .unlogged : display.method
    }

    /// Carries out a switch of method (under the lock). To unlogged: logging of the framebuffer
    /// slot stops and every sync compares the frame. To logged: logging starts first, then the
    /// next sync copies the whole frame once, so writes from before logging was on are not lost.
    func switchDisplay(to method: DisplayMethod, because reason: SwitchReason) throws(KVMError) {
        guard method != display.method else { return }
        let fb = GuestLayout.framebufferSlot
        switch method {
        case .unlogged:
            try machine.setDirtyLogging(slot: fb, enabled: false)
        case .logged:
            try machine.setDirtyLogging(slot: fb, enabled: true)
            display.copyAllOnce = true
        }
        display.method = method
        stats.recordSwitch(MethodSwitch(to: method, reason: reason, guestFrames: machine.totalFramesCompleted))
    }

    /// Whether any consumer besides the display needs the framebuffer's pages logged.
    var framebufferPinned: Bool {
        harvester.consumerCount(wanting: GuestLayout.framebufferSlot) > 1
    }

    // MARK: - Syncs

    /// One sync: harvest, reset, deliver to every consumer, copy the dirty pages (or tiles)
    /// into the shadow and record them in the damage log. `body` runs under the lock
    /// afterwards, with the tiles this sync repainted. Returns how many.
    @discardableResult
    public func sync(_ body: ((DisplayTracker, DirtyTileBitmap) -> Void)? = nil) throws(KVMError) -> Int {
        lock.lock()
        defer { lock.unlock() }
        return try syncLocked(body)
    }

    /// `unreadIsIdle`: with no display sink alive, only harvest (`idleSyncLocked`).
    func syncLocked(_ body: ((DisplayTracker, DirtyTileBitmap) -> Void)?, unreadIsIdle: Bool = false) throws(KVMError) -> Int {
        if unreadIsIdle && !hasReadersLocked { return try idleSyncLocked() }
        // Back from idle: logging on, then this sync copies the whole frame.
        let waking = display.idle
        if waking { try wakeDisplayLocked() }
        // Frames whose doorbell rang before this harvest starts are in this sync.
        let doorbell = oldestUnshownDoorbell.exchange(0, ordering: .relaxed)
        let cpuStart = auto != nil ? threadCPUNanos() : 0
        let start = DispatchTime.now().uptimeNanoseconds
        let sinceLast = lastSyncStart == 0 ? nil : Double(start - lastSyncStart)
        lastSyncStart = start
        let h = try harvester.harvest()
        if let auto { display.unloggedPageLimit = auto.unloggedPageLimit }
        // After the harvest: a mode set from before it is followed now, and its pages (all
        // of them: the whole new frame is copied) are in this sync. A later one is the next's.
        let modeSet = followModeSet()
        let c0 = DispatchTime.now().uptimeNanoseconds
        let bytes = display.refresh()
        let c1 = DispatchTime.now().uptimeNanoseconds
        let cpuEnd = auto != nil ? threadCPUNanos() : 0
        let tiles = display.lastDirty.popCount
        stats.recordSync(h, foldNanos: display.foldNanos, copyNanos: c1 - c0, bytes: bytes, tiles: tiles, mismatches: harvester.resetMismatches)
        display.lastFoldNanos = display.foldNanos
        display.foldNanos = 0
        defer { display.foldedPages = 0 }
        if let modeSet, modeSet.enabledAt != 0 {
            stats.recordModeSetFollowed(enabledAt: modeSet.enabledAt, rebuildNanos: modeSet.rebuildNanos, copyNanos: c1 - c0)
        }
        stats.recordShown(doorbell: doorbell, at: c1)
        heat?.age(marking: display.lastDirty)
        let cursorMoved = refreshCursorLocked()
        body?(display, display.lastDirty)
        if tiles > 0 || cursorMoved { for observe in syncObservers { observe() } }
        // The first sync after idle copied the whole frame after a long gap: not a measurement.
        if auto != nil && !waking {
            let phases = h.harvestNanos + h.resetNanos + display.lastFoldNanos + (c1 - c0)
            let sync = AutoController.Sync(hostNanos: AutoController.hostNanos(phases: phases, wall: c1 - start, cpu: cpuEnd - cpuStart),
                                           tiles: tiles, intervalNanos: sinceLast,
                                           pages: display.method == .logged ? display.foldedPages : display.lastChangedPages,
                                           newMode: modeSet != nil)
            if let change = auto!.afterSync(sync, display: display, machine: machine, pinned: framebufferPinned) {
                try switchDisplay(to: change.to, because: change.because)
            }
        }
        return tiles
    }

    /// Follows a guest mode set made since the last sync, if any: the display's new grid,
    /// shadow and damage log. Returns when its ENABLE was written and what the rebuild cost.
    private func followModeSet() -> (enabledAt: UInt64, rebuildNanos: UInt64)? {
        let modeState = machine.displayMode
        guard modeState.serial != display.modeSerial else { return nil }
        stats.recordModeSets(modeState.serial - display.modeSerial, now: modeState.mode)
        let f0 = DispatchTime.now().uptimeNanoseconds
        display.follow(modeState)
        if heat != nil { heat = DirtyHeatmap(count: display.grid.count) }
        return (modeState.setAtNanos, DispatchTime.now().uptimeNanoseconds - f0)
    }

    /// Called on a vCPU thread at `KVM_EXIT_DIRTY_RING_FULL`: harvest and reset now, so the
    /// vCPU re-enters with room in its ring; the folded tiles wait for the next sync. A
    /// failed harvest throws: the machine then ends the run with the error (`.failed`).
    func harvestForRingFull(cpu: Int) throws(KVMError) {
        lock.lock()
        defer { lock.unlock() }
        stats.recordRingFullHarvest(try harvester.harvest())
    }

    /// Records a guest frame doorbell (for write-to-present latency).
    public func noteDoorbell() {
        let now = DispatchTime.now().uptimeNanoseconds
        _ = oldestUnshownDoorbell.compareExchange(expected: 0, desired: now, ordering: .relaxed)
    }
}
