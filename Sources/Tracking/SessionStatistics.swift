import Machine

/// What a session counts: the counters of the whole run and of the current `--stats`
/// interval, the latencies from frame doorbell to shadow, and each mode set's latency and VMM
/// cost. Kept under the session lock; each record list stops growing at 65536 entries.
struct SessionStatistics {
    private(set) var total = TrackingStats()
    private(set) var interval = TrackingStats()
    /// Doorbell-to-shadow latencies (ns), in order, and how many there were in all.
    private(set) var latencies: [UInt64] = []
    private var latencyCount = 0
    /// From a guest's DISPI ENABLE write to the end of the sync that put the first frame
    /// finished after it (its doorbell rang after the ENABLE) in the shadow (ns).
    private(set) var modeSetLatencies: [UInt64] = []
    /// The VMM's own part of each mode set followed (ns): rebuilding the grid, shadow and
    /// damage log, and the whole-frame copy of the sync that followed it.
    private(set) var modeSetVMMCosts: [(rebuild: UInt64, copy: UInt64)] = []
    /// The ENABLE time of a mode set followed whose first frame is not in the shadow yet.
    private var modeSetPendingSince: UInt64 = 0
    private static let kept = 1 << 16

    init() {
        latencies.reserveCapacity(Self.kept)
    }

    /// One sync: its harvest and the display's fold and copy.
    mutating func recordSync(_ h: HarvestResult, foldNanos: UInt64, copyNanos: UInt64, bytes: Int, tiles: Int, mismatches: Int) {
        total.record(h, foldNanos: foldNanos, copyNanos: copyNanos, bytes: bytes, tiles: tiles, mismatches: mismatches)
        interval.record(h, foldNanos: foldNanos, copyNanos: copyNanos, bytes: bytes, tiles: tiles, mismatches: mismatches)
    }

    /// A sync nobody reads: its harvest only (`TrackingSession.idleSyncLocked`).
    mutating func recordIdleSync(_ h: HarvestResult) {
        total.recordIdle(h); interval.recordIdle(h)
    }

    /// The display left idle: the next sync copies the whole frame.
    mutating func recordDisplayWake() {
        total.displayWakes += 1; interval.displayWakes += 1
    }

    /// A harvest a vCPU's full ring forced between syncs.
    mutating func recordRingFullHarvest(_ h: HarvestResult) {
        total.add(h); interval.add(h)
        total.ringFullHarvests += 1; interval.ringFullHarvests += 1
    }

    /// `count` guest mode sets followed at once, leaving `mode` shown.
    mutating func recordModeSets(_ count: Int, now mode: DisplayMode) {
        total.modeSets += count; interval.modeSets += count
        total.mode = mode; interval.mode = mode
    }

    /// A switch of auto's method.
    mutating func recordSwitch(_ s: MethodSwitch) {
        total.recordSwitch(s)
        interval.recordSwitch(s)
    }

    /// A sync that followed a mode set whose ENABLE was written at `enabledAt`: its VMM costs
    /// now; its latency once the new mode's first frame is in the shadow (`recordShown`).
    mutating func recordModeSetFollowed(enabledAt: UInt64, rebuildNanos: UInt64, copyNanos: UInt64) {
        modeSetPendingSince = enabledAt
        if modeSetVMMCosts.count < Self.kept { modeSetVMMCosts.append((rebuildNanos, copyNanos)) }
    }

    /// The sync that ended at `shownAt` put in the shadow every frame whose doorbell rang
    /// from `doorbell` on (0: none rang since the last sync).
    mutating func recordShown(doorbell: UInt64, at shownAt: UInt64) {
        // The new mode's first frame is in the shadow once a doorbell rung after the ENABLE is.
        if modeSetPendingSince != 0 && doorbell >= modeSetPendingSince {
            if modeSetLatencies.count < Self.kept { modeSetLatencies.append(shownAt - modeSetPendingSince) }
            modeSetPendingSince = 0
        }
        if doorbell != 0 {
            if latencyCount < Self.kept { latencies.append(shownAt - doorbell) }
            latencyCount += 1
        }
    }

    /// The interval's counters, and a new interval started.
    mutating func takeInterval() -> TrackingStats {
        defer { interval = TrackingStats() }
        return interval
    }
}
