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
public final class TrackingSession: @unchecked Sendable {
    public let machine: Machine
    public let plan: TrackingPlan
    public let display: DisplayTracker
    /// The subscriber made at boot when `migration` was asked for (`--migration-rounds`,
    /// `--show-split`); others come and go through `subscribeMigration()`.
    public let migration: MigrationSubscriber?
    private let harvester: DirtyHarvester
    private let lock = NSLock()
    private var total = TrackingStats()
    private var interval = TrackingStats()
    /// Time of the oldest frame doorbell not yet reflected in the shadow (ns, 0 = none).
    /// Atomic: a vCPU ringing its doorbell never waits for a sync in progress.
    private let oldestUnshownDoorbell = Atomic<UInt64>(0)
    private var latencies: [UInt64] = []
    /// From a guest's DISPI ENABLE write to the end of the sync that put the first frame
    /// finished after it (its doorbell rang after the ENABLE) in the shadow (ns).
    private var modeSetLatencies: [UInt64] = []
    /// The VMM's own part of each mode set followed (ns): rebuilding the grid, shadow and
    /// damage log, and the whole-frame copy of the sync that followed it.
    private var modeSetVMMCosts: [(rebuild: UInt64, copy: UInt64)] = []
    /// The ENABLE time of a mode set followed whose first frame is not in the shadow yet.
    private var modeSetPendingSince: UInt64 = 0
    private var latencyCount = 0
    /// `--tracking auto`: the method chooser (nil for fixed modes), and switches so far.
    private var policy: AdaptivePolicy?
    private var forcedSwitchEvery = 0
    /// `--tracking auto`: the guest's cost of one dirty-logged write fault the policy weighs (ns).
    public private(set) var writeFaultNanos: Double?
    private var syncCount = 0
    /// When the previous sync began (auto: the guest's faults are weighed against the interval).
    private var lastSyncStart: UInt64 = 0
    /// Frames all vCPUs had completed at the previous sync (auto: the guest's frame rate).
    private var lastFrameTotal = 0
    /// Auto: syncs until the frame total passes this are not measurements of logging: they
    /// hold the guest's first frame after boot or a mode set (a guest paints its whole new
    /// screen once, e.g. clearing it at boot; one dense frame is not a dense workload).
    private var modeSetFrameMark = -1
    /// Heat of recent repaints, aged once per sync, for sinks that draw it (split-view
    /// PNG files); nil until `trackHeat()`, so other runs do not pay for it every sync.
    public private(set) var heat: DirtyHeatmap?
    /// Called after every sync that repainted something (e.g. to wake VNC clients).
    private var syncObservers: [@Sendable () -> Void] = []

    /// Builds the machine with the plan's logging (or, given `restoring`, a machine that
    /// continues from that snapshot, its restored pages reaching the display at the first
    /// sync; or, with `incoming`, an empty machine a migration destination fills).
    /// When the kernel refuses the ring at `KVM_ENABLE_CAP`, falls back to the bitmap and
    /// records why.
    public init(system: KVMSystem, config baseConfig: MachineConfig, plan requestedPlan: TrackingPlan, tile: TileSize,
                migration wantsMigration: Bool, events: MachineEvents = MachineEvents(),
                restoring snapshot: MachineSnapshot? = nil, incoming: Bool = false,
                writeFaultNanos: Double? = nil) throws(TrackingError) {
        var config = baseConfig
        config.logRAM = wantsMigration
        config.dirtyLogging = requestedPlan.logging
        var plan = requestedPlan
        var ringFullHook = events
        let box = SessionBox()
        ringFullHook.dirtyRingFull = { cpu throws(KVMError) in try box.session?.harvestForRingFull(cpu: cpu) }
        func build(_ config: MachineConfig) throws(MachineError) -> Machine {
            if let snapshot { return try Machine(system: system, config: config, events: ringFullHook, restoring: snapshot) }
            if incoming { return try Machine(system: system, incoming: config, events: ringFullHook) }
            return try Machine(system: system, config: config, events: ringFullHook)
        }
        let m: Machine
        do {
            m = try build(config)
        } catch MachineError.kvm(let e) where (plan.mode == .ring || plan.mode == .auto) && e.isDirtyRingRefusal {
            let fallback = TrackingPlan.bitmapPlan(requested: .ring, caps: (try? HostCapabilities(system: system)) ?? HostCapabilities.none,
                                                   why: "the kernel refused the dirty ring (\(e)); using KVM_GET_DIRTY_LOG")
            plan = plan.mode == .auto ? TrackingPlan(requested: .auto, mode: .auto, logging: fallback.logging, reason: "adaptive: " + fallback.reason) : fallback
            config.dirtyLogging = fallback.logging
            do { m = try build(config) } catch { throw .machine(error) }
        } catch {
            throw .machine(error)
        }
        machine = m
        self.plan = plan
        display = DisplayTracker(machine: m, tile: tile, strategy: plan.refresh)
        harvester = DirtyHarvester(machine: m)
        harvester.subscribe(display)
        if wantsMigration {
            let sub = MigrationSubscriber(pageCounts: m.slots.map { ($0.id, $0.pageCount) })
            harvester.subscribe(sub)
            migration = sub
        } else {
            migration = nil
        }
        latencies.reserveCapacity(1 << 16)
        if plan.refresh == .adaptive {
            // The first copy faults the slot's pages in; the quicker of the next two, each from
            // memory (a buffer larger than the last-level cache written over first), is the
            // estimate until unlogged syncs measure the real thing.
            let evict = CacheEvictor()
            _ = display.measureFullCopy(evicting: nil)
            // The guest's cost of a logged write fault: given, or probed once per process.
            let fault = writeFaultNanos ?? WriteFaultProbe.cached(system: system, logging: plan.logging)?.nanosPerPage ?? 0
            self.writeFaultNanos = fault
            policy = AdaptivePolicy(fullCopyNanos: Double((0..<2).map { _ in display.measureFullCopy(evicting: evict) }.min()!), faultNanos: fault)
            if migration != nil { _ = policy?.pinLogged() }
        }
        box.session = self
    }

    /// How the display tracks the framebuffer now (`logged` for every fixed logged mode).
    public var displayMethod: DisplayMethod {
        lock.lock(); defer { lock.unlock() }
        return plan.refresh == .full || plan.refresh == .compare ? .unlogged : display.method
    }

    /// Carries out a switch of method (under the lock). To full: logging of the framebuffer
    /// slot stops and every sync copies the frame. To logged: logging starts first, then the
    /// next sync copies the whole frame once, so writes from before logging was on are not lost.
    private func switchDisplay(to method: DisplayMethod, because reason: SwitchReason) throws(KVMError) {
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
        let record = MethodSwitch(to: method, reason: reason, guestFrames: machine.totalFramesCompleted)
        total.recordSwitch(record)
        interval.recordSwitch(record)
    }

    /// `--tracking auto`: explorations of the unlogged rate so far, and the intervals between
    /// syncs the policy left out of its rate windows as stalls (nil for fixed modes).
    public var policyCounts: (explorations: Int, stalls: Int)? {
        lock.lock(); defer { lock.unlock() }
        return policy.map { ($0.explorations, $0.stalls) }
    }

    /// Whether any consumer besides the display needs the framebuffer's pages logged.
    private var framebufferPinned: Bool {
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

    private func syncLocked(_ body: ((DisplayTracker, DirtyTileBitmap) -> Void)?) throws(KVMError) -> Int {
        // Frames whose doorbell rang before this harvest starts are in this sync.
        let doorbell = oldestUnshownDoorbell.exchange(0, ordering: .relaxed)
        let cpuStart = policy != nil ? threadCPUNanos() : 0
        let start = DispatchTime.now().uptimeNanoseconds
        let sinceLast = lastSyncStart == 0 ? nil : Double(start - lastSyncStart)
        lastSyncStart = start
        let h = try harvester.harvest()
        if let policy { display.unloggedPageLimit = forcedSwitchEvery == 0 ? policy.unloggedPageLimit : Int.max }
        // After the harvest: a mode set from before it is followed now, and its pages (all
        // of them: the whole new frame is copied) are in this sync. A later one is the next's.
        let modeState = machine.displayMode
        let newMode = modeState.serial != display.modeSerial
        var followNanos: UInt64 = 0
        if newMode {
            let sets = modeState.serial - display.modeSerial
            total.modeSets += sets; interval.modeSets += sets
            total.mode = modeState.mode; interval.mode = modeState.mode
            let f0 = DispatchTime.now().uptimeNanoseconds
            display.follow(modeState)
            if heat != nil { heat = DirtyHeatmap(count: display.grid.count) }
            followNanos = DispatchTime.now().uptimeNanoseconds - f0
        }
        let c0 = DispatchTime.now().uptimeNanoseconds
        let bytes = display.refresh()
        let c1 = DispatchTime.now().uptimeNanoseconds
        let cpuEnd = policy != nil ? threadCPUNanos() : 0
        let tiles = display.lastDirty.popCount
        total.record(h, foldNanos: display.foldNanos, copyNanos: c1 - c0, bytes: bytes, tiles: tiles, mismatches: harvester.resetMismatches)
        interval.record(h, foldNanos: display.foldNanos, copyNanos: c1 - c0, bytes: bytes, tiles: tiles, mismatches: harvester.resetMismatches)
        display.lastFoldNanos = display.foldNanos
        display.foldNanos = 0
        defer { display.foldedPages = 0 }
        if newMode && modeState.setAtNanos != 0 {
            modeSetPendingSince = modeState.setAtNanos
            if modeSetVMMCosts.count < 1 << 16 { modeSetVMMCosts.append((followNanos, c1 - c0)) }
        }
        // The new mode's first frame is in the shadow once a doorbell rung after the ENABLE is.
        if modeSetPendingSince != 0 && doorbell >= modeSetPendingSince {
            if modeSetLatencies.count < 1 << 16 { modeSetLatencies.append(c1 - modeSetPendingSince) }
            modeSetPendingSince = 0
        }
        if doorbell != 0 {
            if latencyCount < 1 << 16 { latencies.append(c1 - doorbell) }
            latencyCount += 1
        }
        heat?.age(marking: display.lastDirty)
        body?(display, display.lastDirty)
        if tiles > 0 { for observe in syncObservers { observe() } }
        if policy != nil {
            // The share of the sync's wall time (harvest to copy) this thread ran: a sync
            // preempted by other load on the host does not cost the host more (under three busy
            // loops on two cores, wall-time costs made plasma flap 7 times in 400 lockstep frames).
            let wall = c1 - start, cpu = cpuEnd - cpuStart
            let ran = wall > 0 && cpu > 0 ? min(1, Double(cpu) / Double(wall)) : 1
            let syncNanos = UInt64(Double(h.harvestNanos + h.resetNanos + display.lastFoldNanos + (c1 - c0)) * ran)
            try adapt(syncNanos: syncNanos, tiles: tiles, interval: sinceLast, pages: display.method == .logged ? display.foldedPages : display.lastChangedPages, newMode: newMode)
        }
        return tiles
    }

    /// `--tracking auto` after each sync: feed the policy, switch if it says so.
    private func adapt(syncNanos: UInt64, tiles: Int, interval: Double?, pages: Int, newMode: Bool) throws(KVMError) {
        syncCount += 1
        if forcedSwitchEvery > 0 {
            if syncCount % forcedSwitchEvery == 0 && !framebufferPinned {
                try switchDisplay(to: display.method == .logged ? .unlogged : .logged, because: .forced)
            }
            return
        }
        if framebufferPinned {
            if case .switchTo(let m) = policy!.pinLogged() { try switchDisplay(to: m, because: .migration) }
            return
        }
        let frameTotal = machine.totalFramesCompleted
        // The first sync or a mode set's may or may not hold the first frame (lockstep: it
        // does; a free-running guest may still be drawing it): up to one more frame per vCPU.
        if newMode || syncCount == 1 { modeSetFrameMark = frameTotal + machine.vcpuCount }
        let copiedAll = display.method == .logged && (display.lastCopiedAll || frameTotal <= modeSetFrameMark)
        let frames = max(0, frameTotal - lastFrameTotal)
        lastFrameTotal = frameTotal
        if case .switchTo(let m) = policy!.observe(syncNanos: Double(syncNanos), tiles: tiles, pages: pages, intervalNanos: interval, guestFrames: frames, copiedAll: copiedAll) {
            try switchDisplay(to: m, because: policy!.lastReason)
        }
    }

    /// Called on a vCPU thread at `KVM_EXIT_DIRTY_RING_FULL`: harvest and reset now, so the
    /// vCPU re-enters with room in its ring; the folded tiles wait for the next sync. A
    /// failed harvest throws: the machine then ends the run with the error (`.failed`).
    func harvestForRingFull(cpu: Int) throws(KVMError) {
        lock.lock()
        defer { lock.unlock() }
        let h = try harvester.harvest()
        total.add(h); interval.add(h)
        total.ringFullHarvests += 1; interval.ringFullHarvests += 1
    }

    /// Records a guest frame doorbell (for write-to-present latency).
    public func noteDoorbell() {
        let now = DispatchTime.now().uptimeNanoseconds
        _ = oldestUnshownDoorbell.compareExchange(expected: 0, desired: now, ordering: .relaxed)
    }

    // MARK: - Display sinks

    /// A new display sink. Its first read returns every tile.
    public func makeDisplaySink(name: String) -> DisplaySink {
        lock.lock(); defer { lock.unlock() }
        return DisplaySink(name: name, damage: display.damage)
    }

    /// Under the lock, hands `body` the shadow and exactly the tiles repainted since `sink`
    /// last read, and moves the sink to now. Copy out inside `body`; present after it returns,
    /// so presenting never holds up a harvest. The sink pays for its own query; nothing else does.
    public func read<R>(_ sink: DisplaySink, _ body: (DisplayTracker, DirtyTileBitmap) throws -> R) rethrows -> R {
        lock.lock(); defer { lock.unlock() }
        display.damage.changes(since: &sink.cursor, into: &sink.changed)
        return try body(display, sink.changed)
    }

    /// Whether `sink` would get any tile from `read` now.
    public func hasChanges(for sink: DisplaySink) -> Bool {
        lock.lock(); defer { lock.unlock() }
        return display.damage.hasChanges(since: sink.cursor)
    }

    /// Runs `body` under the session lock (reading the shadow between syncs).
    public func withDisplay<R, E: Error>(_ body: (DisplayTracker) throws(E) -> R) throws(E) -> R {
        lock.lock(); defer { lock.unlock() }
        return try body(display)
    }

    /// Registers `body`, called under the lock after every sync that repainted a tile. It must
    /// not block or take the session's lock (hand the work to another thread).
    public func onSync(_ body: @escaping @Sendable () -> Void) {
        lock.lock(); defer { lock.unlock() }
        syncObservers.append(body)
    }

    /// Starts ageing a heatmap of repainted tiles at every sync (see `heat`).
    public func trackHeat() {
        lock.lock(); defer { lock.unlock() }
        if heat == nil { heat = DirtyHeatmap(count: display.grid.count) }
    }

    // MARK: - Migration subscribers

    /// A new migration subscriber, starting with every page of every slot dirty. The first
    /// subscriber turns on dirty logging of guest RAM while the guest runs.
    public func subscribeMigration() throws(TrackingError) -> MigrationSubscriber {
        guard plan.mode.hasPageList else { throw .noPageList(plan.mode) }
        lock.lock(); defer { lock.unlock() }
        let sub = MigrationSubscriber(pageCounts: machine.slots.map { ($0.id, $0.pageCount) })
        harvester.subscribe(sub)
        do {
            // Auto mode keeps the framebuffer logged while a subscriber needs its pages.
            if policy != nil, case .switchTo(let m) = policy!.pinLogged() { try switchDisplay(to: m, because: .migration) }
            // Pages written before logging starts are covered: the new set holds every page.
            for slot in machine.slots where !machine.isDirtyLogged(slot: slot.id) {
                try machine.setDirtyLogging(slot: slot.id, enabled: true)
            }
        } catch {
            harvester.unsubscribe(sub)
            throw .machine(.kvm(error))
        }
        return sub
    }

    /// Removes a subscriber. When no consumer wants a slot any more, its logging stops.
    public func unsubscribe(_ sub: MigrationSubscriber) throws(KVMError) {
        lock.lock(); defer { lock.unlock() }
        harvester.unsubscribe(sub)
        for slot in machine.slots where !harvester.isWanted(slot: slot.id) && machine.isDirtyLogged(slot: slot.id) {
            try machine.setDirtyLogging(slot: slot.id, enabled: false)
        }
    }

    /// Hands over every page `sub` accumulated and starts a new set. With `sync` (the
    /// default), harvests first, so the set includes everything written until now.
    public func take(_ sub: MigrationSubscriber, sync: Bool = true) throws(KVMError) -> MigrationPageSet {
        lock.lock(); defer { lock.unlock() }
        if sync { _ = try syncLocked(nil) }
        return sub.take()
    }

    /// Merges a set that could not be sent back into `sub`, so the next take includes it.
    public func giveBack(_ set: MigrationPageSet, to sub: MigrationSubscriber) {
        lock.lock(); defer { lock.unlock() }
        sub.giveBack(set)
    }

    /// What `sub` has accumulated since its last take (for pictures of the list).
    public func pendingPages(of sub: MigrationSubscriber) -> (round: Int, pages: MigrationPageSet) {
        lock.lock(); defer { lock.unlock() }
        return pendingPagesLocked(of: sub)
    }

    /// `pendingPages(of:)` for a caller already inside `read`, `withDisplay` or a sync's body.
    public func pendingPagesLocked(of sub: MigrationSubscriber) -> (round: Int, pages: MigrationPageSet) {
        (sub.round, sub.pending)
    }

    /// One round of the boot-time subscriber: its number and the pages taken (no sync).
    public struct Round: Sendable {
        public var number: Int
        public var pages: MigrationPageSet
        public var total: Int { pages.total }
    }

    /// Takes the boot-time subscriber's pages as a round (without a sync of its own).
    public func endMigrationRound() -> Round? {
        lock.lock(); defer { lock.unlock() }
        guard let migration else { return nil }
        let n = migration.round
        return Round(number: n, pages: migration.take())
    }

    /// Fault injection for testing the checkers: drops every `n`-th harvested page before
    /// delivery (0 turns it off). Never used by the product.
    @_spi(FaultInjection)
    public func forceMethodSwitchEvery(_ n: Int) {
        lock.lock(); defer { lock.unlock() }
        forcedSwitchEvery = max(0, n)
    }

    /// Fault injection for testing the checkers: drops every `n`-th harvested page before
    /// delivery (0 turns it off). Never used by the product.
    @_spi(FaultInjection)
    public func dropEveryNthHarvestedPage(_ n: Int) {
        lock.lock(); defer { lock.unlock() }
        harvester.dropEvery = max(0, n)
    }

    // MARK: - Statistics

    public var totalStats: TrackingStats {
        lock.lock(); defer { lock.unlock() }
        return totalStatsLocked
    }

    /// `totalStats` for a caller already inside `read`, `withDisplay` or a sync's body.
    public var totalStatsLocked: TrackingStats {
        var s = total
        if policy != nil { s.method = display.method }
        return s
    }

    /// Returns the stats since the last call and starts a new interval.
    public func takeIntervalStats() -> TrackingStats {
        lock.lock(); defer { lock.unlock() }
        var s = interval
        if policy != nil { s.method = display.method }
        interval = TrackingStats()
        return s
    }

    /// Mode-set latencies so far (ns), in order: from each DISPI ENABLE write that set a new
    /// mode to the end of the sync that copied the first frame drawn in it into the shadow.
    public func modeSetLatenciesNanos() -> [UInt64] {
        lock.lock(); defer { lock.unlock() }
        return modeSetLatencies
    }

    /// The VMM's part of each mode set so far (ns), in order: the rebuild of tile grid, shadow
    /// and damage log, and the whole-frame copy that followed.
    public func modeSetVMMCostsNanos() -> [(rebuild: UInt64, copy: UInt64)] {
        lock.lock(); defer { lock.unlock() }
        return modeSetVMMCosts
    }

    /// Doorbell-to-shadow latencies recorded so far (ns), sorted.
    public func sortedLatencies() -> [UInt64] {
        lock.lock(); defer { lock.unlock() }
        return latencies.sorted()
    }
}

final class SessionBox: @unchecked Sendable {
    weak var session: TrackingSession?
}

extension HostCapabilities {
    static let none = HostCapabilities(apiVersion: 12, dirtyRingAcqRelBytes: 0, dirtyRingBytes: 0, manualProtect: 0, recommendedVCPUs: 1, maxVCPUs: 1)
}
