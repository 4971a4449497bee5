import Display
import Foundation
import KVM
import Machine
import Synchronization

/// Joins a machine's dirty log to its consumers: one harvest per display refresh feeds the
/// display's tile fold and, when subscribed, the migration list. All harvests, folds and
/// shadow copies run under one lock, so a ring-full exit on a vCPU thread and the refresh
/// thread never interleave.
public final class TrackingSession: @unchecked Sendable {
    public let machine: Machine
    public let plan: TrackingPlan
    public let display: DisplayTracker
    public let migration: MigrationDirtyList?
    private let harvester: DirtyHarvester
    private let lock = NSLock()
    private var total = TrackingStats()
    private var interval = TrackingStats()
    /// Time of the oldest frame doorbell not yet reflected in the shadow (ns, 0 = none).
    /// Atomic: a vCPU ringing its doorbell never waits for a refresh in progress.
    private let oldestUnshownDoorbell = Atomic<UInt64>(0)
    private var latencies: [UInt64] = []
    private var latencyCount = 0
    /// Tiles repainted since a presenting sink last took them (a window presents at its own pace).
    private var unpresented: DirtyTileBitmap
    /// Heat of recent repaints, aged once per refresh, for sinks that draw it (split-view
    /// PNG files); nil until `trackHeat()`, so other runs do not pay for it every refresh.
    public private(set) var heat: DirtyHeatmap?

    /// Builds the machine with the plan's logging. When the kernel refuses the ring at
    /// `KVM_ENABLE_CAP`, falls back to the bitmap and records why.
    public init(system: KVMSystem, config baseConfig: MachineConfig, plan requestedPlan: TrackingPlan, tile: TileSize,
                migration wantsMigration: Bool, events: MachineEvents = MachineEvents()) throws(TrackingError) {
        var config = baseConfig
        config.logRAM = wantsMigration
        config.dirtyLogging = requestedPlan.logging
        var plan = requestedPlan
        var ringFullHook = events
        let box = SessionBox()
        ringFullHook.dirtyRingFull = { cpu throws(KVMError) in try box.session?.harvestForRingFull(cpu: cpu) }
        let m: Machine
        do {
            m = try Machine(system: system, config: config, events: ringFullHook)
        } catch MachineError.kvm(let e) where plan.mode == .ring && e.isDirtyRingRefusal {
            let fallback = TrackingPlan.bitmapPlan(requested: .ring, caps: (try? HostCapabilities(system: system)) ?? HostCapabilities.none,
                                                   why: "the kernel refused the dirty ring (\(e)); using KVM_GET_DIRTY_LOG")
            plan = fallback
            config.dirtyLogging = fallback.logging
            do { m = try Machine(system: system, config: config, events: ringFullHook) } catch { throw .machine(error) }
        } catch {
            throw .machine(error)
        }
        machine = m
        self.plan = plan
        display = DisplayTracker(machine: m, tile: tile, mode: plan.mode)
        harvester = DirtyHarvester(machine: m, mode: plan.mode)
        harvester.subscribe(display)
        if wantsMigration {
            let list = MigrationDirtyList(slotPageCounts: [
                GuestLayout.ramSlot: m.ram.size / GuestLayout.pageSize,
                GuestLayout.framebufferSlot: m.framebuffer.size / GuestLayout.pageSize,
            ])
            harvester.subscribe(list)
            migration = list
        } else {
            migration = nil
        }
        latencies.reserveCapacity(1 << 16)
        unpresented = DirtyTileBitmap(count: display.grid.count)
        unpresented.setAll() // a presenting sink starts with the whole (black) screen to draw
        box.session = self
    }

    /// One display refresh: harvest, reset, fold, copy dirty tiles into the shadow.
    /// `body` runs under the lock afterwards, with the tiles this refresh repainted.
    @discardableResult
    public func refresh(_ body: ((DisplayTracker, DirtyTileBitmap) -> Void)? = nil) throws(KVMError) -> Int {
        lock.lock()
        defer { lock.unlock() }
        // Frames whose doorbell rang before this harvest starts are in this refresh.
        let doorbell = oldestUnshownDoorbell.exchange(0, ordering: .relaxed)
        let h = try harvester.harvest()
        let c0 = DispatchTime.now().uptimeNanoseconds
        let bytes = display.refresh()
        let c1 = DispatchTime.now().uptimeNanoseconds
        let tiles = display.lastDirty.popCount
        total.record(h, foldNanos: display.foldNanos, copyNanos: c1 - c0, bytes: bytes, tiles: tiles, mismatches: harvester.resetMismatches)
        interval.record(h, foldNanos: display.foldNanos, copyNanos: c1 - c0, bytes: bytes, tiles: tiles, mismatches: harvester.resetMismatches)
        display.foldNanos = 0
        if doorbell != 0 {
            if latencyCount < 1 << 16 { latencies.append(c1 - doorbell) }
            latencyCount += 1
        }
        unpresented.formUnion(display.lastDirty)
        heat?.age(marking: display.lastDirty)
        body?(display, display.lastDirty)
        return tiles
    }

    /// Runs `body` under the session lock (sinks reading the shadow between refreshes).
    public func withDisplay<R, E: Error>(_ body: (DisplayTracker) throws(E) -> R) throws(E) -> R {
        lock.lock(); defer { lock.unlock() }
        return try body(display)
    }

    /// Starts ageing a heatmap of repainted tiles at every refresh (see `heat`).
    public func trackHeat() {
        lock.lock(); defer { lock.unlock() }
        if heat == nil { heat = DirtyHeatmap(count: display.grid.count) }
    }

    /// For a presenting sink: under the lock, hands `body` the shadow and every tile repainted
    /// since the previous call (then forgets them). Upload inside `body`; present after it returns,
    /// so presenting never holds up a harvest.
    public func takeUnpresented<R>(_ body: (DisplayTracker, DirtyTileBitmap) -> R) -> R {
        lock.lock(); defer { lock.unlock() }
        let r = body(display, unpresented)
        unpresented.clearAll()
        return r
    }

    /// Called on a vCPU thread at `KVM_EXIT_DIRTY_RING_FULL`: harvest and reset now, so the
    /// vCPU re-enters with room in its ring; the folded tiles wait for the next refresh.
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

    /// Ends the current migration round under the lock.
    public func endMigrationRound() -> MigrationDirtyList.Round? {
        lock.lock(); defer { lock.unlock() }
        return migration?.endRound()
    }

    public var totalStats: TrackingStats { lock.lock(); defer { lock.unlock() }; return total }

    /// Returns the stats since the last call and starts a new interval.
    public func takeIntervalStats() -> TrackingStats {
        lock.lock(); defer { lock.unlock() }
        let s = interval
        interval = TrackingStats()
        return s
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
