/// Logged to unlogged **by cost**: when logged syncs (host time plus the guest's write
/// faults) cost more than `margin` times an unlogged sync for `streak` syncs in a row (a dense
/// screen, or a host where faults are dear), or the faults alone of each of two syncs in a row
/// cost more than `farOver` times an unlogged sync (a full-screen animation starting: each
/// logged frame of it costs the guest a fault on every page; counted pages, not a timing, so
/// host noise cannot trigger it; one dense frame, such as a guest's first, is not an
/// animation). A sync counts as over budget only when its pages, at the averaged cost per
/// page, also predict it over budget: a sync inflated by preemption with few pages is noise,
/// not a dense screen.
public struct LoggedCostRule: Sendable {
    public var streak = 3
    public var farOver = 4.0
    private var overBudget = 0
    private var farOverSyncs = 0

    /// One logged sync that found something, costing `cost` in all for `pages` dirty pages:
    /// the reason to leave logging, if this sync completes a streak.
    mutating func observe(cost: Double, pages: Int, model: CostModel) -> SwitchReason? {
        let budget = model.margin * model.unloggedNanos
        // Over budget by its time and by its pages: a sync inflated by a host stall with few
        // pages is noise, not a dense screen.
        let byPages = pages == 0 || (model.loggedNanosPerPage ?? 0) * Double(pages) > budget
        overBudget = cost > budget && byPages ? overBudget + 1 : 0
        // Far over for two syncs in a row: one dense frame (a guest's first, a window
        // opening) is not a dense workload, and leaving logging for it costs a return.
        let faults = model.faultNanos * Double(pages)
        farOverSyncs = faults > farOver * model.unloggedNanos ? farOverSyncs + 1 : 0
        let farOverTwice = farOverSyncs >= 2
        if farOverTwice { overBudget = streak }
        guard overBudget >= streak else { return nil }
        return farOverTwice
            ? .faultsFarOver(pages: pages, faultMicros: faults / 1000, unloggedMicros: model.unloggedNanos / 1000)
            : .loggedCostsMore(loggedMicros: cost / 1000, unloggedMicros: model.unloggedNanos / 1000, syncs: overBudget)
    }

    /// The over-budget streak starts again (the far-over count goes on).
    mutating func resetStreak() { overBudget = 0 }

    /// Logging was left: both counts start again.
    mutating func reset() {
        overBudget = 0
        farOverSyncs = 0
    }
}
