/// Decides, sync by sync, between logged tracking and an unlogged compare from costs measured
/// on this host, not from thresholds tuned on one machine. Pure logic: the session's
/// `AutoController` feeds it each sync's cost and counts and carries out what it says.
///
/// Each rule is its own type, with its tunables and its state (the whole policy, for users,
/// is in docs/tracking.md#adaptive-tracking-tracking-auto):
/// - `CostModel`: what was measured (fault cost, an unlogged sync, a logged page) and the
///   predictions made from it;
/// - `RateWindow`: the guest's frame rate in windows of stall-free time, and the clock;
/// - `LoggedCostRule`: logged to unlogged by cost (a streak over budget, or faults far over);
/// - `GuestRateRule`: logged to unlogged when the guest draws slower logged, with a hold-off;
/// - `ExplorationRule`: a short unlogged window to measure that rate, only where it can matter;
/// - `ReturnRule`: unlogged to logged when calm, with a longer calm after a wrong return.
public struct AdaptivePolicy: Sendable {
    public var cost: CostModel
    public var window = RateWindow()
    public var leaving = LoggedCostRule()
    public var rate = GuestRateRule()
    public var exploration = ExplorationRule()
    public var returning = ReturnRule()
    public private(set) var method: DisplayMethod = .logged
    /// Unlogged syncs since the last one after which the guest had completed a frame, and the
    /// changed pages they found (`observeUnlogged`).
    private var span = (pages: 0, syncs: 0)
    /// A guest that completes no frame is still judged every this many syncs.
    static let maxSyncsPerObservation = 64
    /// Why the last switch this policy asked for was made.
    public private(set) var lastReason: SwitchReason = .forced

    /// - Parameters:
    ///   - fullCopyNanos: one full-frame copy on this host (the first estimate of an unlogged sync).
    ///   - faultNanos: the guest's cost of one dirty-logged write fault on this host.
    public init(fullCopyNanos: Double, faultNanos: Double = 0) {
        cost = CostModel(fullCopyNanos: fullCopyNanos, faultNanos: faultNanos)
    }

    /// What to do after a sync: stay, or switch to `method`.
    public enum Decision: Equatable, Sendable { case stay, switchTo(DisplayMethod) }

    /// Feeds one sync: its host cost, the tiles it repainted (logged) or found changed
    /// (unlogged), and the pages the guest dirtied (logged: each one write fault) or the
    /// pages the changed tiles overlap (unlogged).
    /// `intervalNanos`: wall time since the previous sync began (nil: unknown, e.g. tests of
    /// the cost rule alone). `copiedAll`: a logged sync that copied the whole frame once after
    /// logging came back on (not a measurement of logging; it is ignored).
    /// `guestFrames`: frames the guest completed (all vCPUs) since the previous sync.
    public mutating func observe(syncNanos: Double, tiles: Int, pages: Int = 0, intervalNanos: Double? = nil,
                                 guestFrames: Int? = nil, copiedAll: Bool = false) -> Decision {
        var closed: RateWindow.Closed?
        var stalled = false
        if let intervalNanos, let guestFrames {
            (stalled, closed) = window.add(interval: intervalNanos, guestFrames: guestFrames, method: method,
                                           exploring: exploration.exploring)
        }
        switch method {
        case .logged:
            return observeLogged(syncNanos: syncNanos, tiles: tiles, pages: pages, stalled: stalled, closed: closed, copiedAll: copiedAll)
        case .unlogged:
            return observeUnlogged(syncNanos: syncNanos, pages: pages, guestFrames: guestFrames, closed: closed)
        }
    }

    private mutating func observeLogged(syncNanos: Double, tiles: Int, pages: Int, stalled: Bool,
                                        closed: RateWindow.Closed?, copiedAll: Bool) -> Decision {
        if !stalled, let reason = rate.judge(window) {
            exploration.guestSlowed()
            return switchToUnlogged(because: reason)
        }
        if let closed {
            window.reset()
            if let reason = exploration.loggedWindowClosed(closed, unloggedRateAge: rate.unloggedRateAge(at: window.clock)) {
                lastReason = reason
                method = .unlogged
                leaving.resetStreak()
                returning.resetStreak()
                return .switchTo(.unlogged)
            }
        }
        if copiedAll { return .stay }
        // A sync that found nothing says nothing about logging's cost.
        if pages == 0 && tiles == 0 { return .stay }
        let total = cost.loggedCost(syncNanos: syncNanos, pages: pages)
        cost.noteLogged(cost: total, pages: pages)
        if let changed = returning.pagesAtReturn { cost.learnPageScale(dirtied: pages, changed: changed) }
        let reason = leaving.observe(cost: total, pages: pages, model: cost)
        returning.loggedSync(provenAfter: 4 * leaving.streak)
        guard let reason else { return .stay }
        return switchToUnlogged(because: reason)
    }

    private mutating func observeUnlogged(syncNanos: Double, pages: Int, guestFrames: Int?, closed: RateWindow.Closed?) -> Decision {
        if let closed {
            window.reset()
            rate.unloggedWindowClosed(closed, at: window.clock)
            exploration.unloggedWindowClosed()
        }
        cost.noteUnlogged(syncNanos: syncNanos)
        // Judged per guest frame: while syncs outnumber frames (a refresher syncing back to
        // back), most find nothing only because the guest has not drawn since, and a frame's
        // pages are split between several syncs. So the syncs up to the one after which a
        // frame was complete are one observation: their pages against their unlogged cost.
        span.pages += pages
        span.syncs += 1
        if let guestFrames, guestFrames == 0, span.syncs < Self.maxSyncsPerObservation { return .stay }
        let observed = span
        span = (0, 0)
        let allowed = rate.allowsReturn(at: window.clock) && !exploration.exploring
        guard let reason = returning.observe(predicted: cost.predictedLoggedCost(pages: observed.pages), pages: observed.pages,
                                             syncs: observed.syncs, model: cost, allowed: allowed) else { return .stay }
        lastReason = reason
        leaving.resetStreak()
        method = .logged
        window.reset()
        return .switchTo(.logged)
    }

    private mutating func switchToUnlogged(because reason: SwitchReason) -> Decision {
        span = (0, 0)
        lastReason = reason
        leaving.reset()
        returning.leftLogging()
        method = .unlogged
        window.reset()
        return .switchTo(.unlogged)
    }

    /// Logging must stay on (a migration subscriber needs the framebuffer's pages).
    public mutating func pinLogged() -> Decision {
        guard method == .unlogged else { return .stay }
        method = .logged
        lastReason = .migration
        exploration.stop()
        window.reset()
        leaving.resetStreak()
        returning.resetStreak()
        return .switchTo(.logged)
    }

    // MARK: - What the session and `--stats` read

    /// Unlogged to measure the guest's rate there: no return before its window completes.
    public var exploring: Bool { exploration.exploring }
    /// Explorations started so far.
    public var explorations: Int { exploration.explorations }
    /// Intervals left out of the rate windows and the clock as stalls.
    public var stalls: Int { window.stalls }
    /// Guest frames an exploration's window counts.
    public var exploreFrames: Int { window.exploreFrames }
    /// See `CostModel`.
    public var unloggedNanos: Double { cost.unloggedNanos }
    public var faultNanos: Double { cost.faultNanos }
    public var loggedNanosPerPage: Double? { cost.loggedNanosPerPage }
    public var pageScale: Double { cost.pageScale }
    public var unloggedPageLimit: Int { cost.unloggedPageLimit }
    public func loggedCost(syncNanos: Double, pages: Int) -> Double { cost.loggedCost(syncNanos: syncNanos, pages: pages) }
}
