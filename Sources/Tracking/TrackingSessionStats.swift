/// Statistics, `--tracking auto`'s counts, and fault injection for the checkers' tests.
extension TrackingSession {
    public var totalStats: TrackingStats {
        lock.lock(); defer { lock.unlock() }
        return totalStatsLocked
    }

    /// `totalStats` for a caller already inside `read`, `withDisplay` or a sync's body.
    public var totalStatsLocked: TrackingStats {
        var s = stats.total
        if auto != nil { s.method = display.method }
        return s
    }

    /// Returns the stats since the last call and starts a new interval.
    public func takeIntervalStats() -> TrackingStats {
        lock.lock(); defer { lock.unlock() }
        var s = stats.takeInterval()
        if auto != nil { s.method = display.method }
        return s
    }

    /// Mode-set latencies so far (ns), in order: from each DISPI ENABLE write that set a new
    /// mode to the end of the sync that copied the first frame drawn in it into the shadow.
    public func modeSetLatenciesNanos() -> [UInt64] {
        lock.lock(); defer { lock.unlock() }
        return stats.modeSetLatencies
    }

    /// The VMM's part of each mode set so far (ns), in order: the rebuild of tile grid, shadow
    /// and damage log, and the whole-frame copy that followed.
    public func modeSetVMMCostsNanos() -> [(rebuild: UInt64, copy: UInt64)] {
        lock.lock(); defer { lock.unlock() }
        return stats.modeSetVMMCosts
    }

    /// Doorbell-to-shadow latencies recorded so far (ns), sorted.
    public func sortedLatencies() -> [UInt64] {
        lock.lock(); defer { lock.unlock() }
        return stats.latencies.sorted()
    }

    /// `--tracking auto`: explorations of the unlogged rate so far, and the intervals between
    /// syncs the policy left out of its rate windows as stalls (nil for fixed modes).
    public var policyCounts: (explorations: Int, stalls: Int)? {
        lock.lock(); defer { lock.unlock() }
        return auto.map { ($0.policy.explorations, $0.policy.stalls) }
    }

    /// Fault injection for testing the checkers: with `--tracking auto`, switches method every
    /// `n`-th sync whatever the policy says (0 turns it off). Never used by the product.
    @_spi(FaultInjection)
    public func forceMethodSwitchEvery(_ n: Int) {
        lock.lock(); defer { lock.unlock() }
        auto?.forcedSwitchEvery = max(0, n)
    }

    /// Fault injection for testing the checkers: drops every `n`-th harvested page before
    /// delivery (0 turns it off). Never used by the product.
    @_spi(FaultInjection)
    public func dropEveryNthHarvestedPage(_ n: Int) {
        lock.lock(); defer { lock.unlock() }
        harvester.dropEvery = max(0, n)
    }
}
