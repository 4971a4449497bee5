/// What `--tracking auto` has measured on this host, and what it predicts from it. The cost
/// of a logged sync is the host's (harvest + reset + fold + copy) **plus the guest's**: every
/// page the guest dirtied since the last reset took one dirty-logged write fault,
/// `faultNanos` each (measured by `WriteFaultProbe`: about 2 us on some hosts of this kind,
/// 29 us on others). An unlogged sync costs the host only.
public struct CostModel: Sendable {
    /// How much cheaper one method must look before a rule prefers it.
    public var margin = 1.1
    /// The guest's cost of one dirty-logged first write to a page, in nanoseconds.
    public let faultNanos: Double
    /// Nanoseconds of one unlogged sync on this host (a full copy at first, then measured and
    /// averaged).
    public private(set) var unloggedNanos: Double
    /// Nanoseconds (host and guest) per dirty page in logged mode (measured, averaged).
    public private(set) var loggedNanosPerPage: Double?
    /// How many more pages the guest dirties in logged mode than the changed tiles overlap (a
    /// guest that rewrites pixels with their own values), learned at each return (the first
    /// logged sync after it). Predictions are scaled by it. At least 1: a change smaller than
    /// its tiles makes the prediction too high, which only delays a return, never makes a
    /// wrong one (a scale under 1 learned from a cursor made dense frames look cheap).
    public private(set) var pageScale = 1.0

    init(fullCopyNanos: Double, faultNanos: Double) {
        unloggedNanos = max(fullCopyNanos, 1)
        self.faultNanos = max(0, faultNanos)
    }

    /// What a logged sync that cost the host `syncNanos` and dirtied `pages` costs in all.
    public func loggedCost(syncNanos: Double, pages: Int) -> Double { syncNanos + faultNanos * Double(pages) }

    /// What a logged sync would cost for `pages` pages a compare found changed.
    func predictedLoggedCost(pages: Int) -> Double {
        // Before any logged sync has dirtied a page (the first rate window can close on the
        // first sync when the host is busy), predict from the fault cost alone: staying
        // unlogged until a measurement that can only come from logging would be for ever.
        (loggedNanosPerPage ?? max(faultNanos, 1)) * Double(pages) * pageScale
    }

    /// In unlogged mode: how many changed pages the next sync should look for before it stops
    /// comparing (with that many, a logged sync would cost more than an unlogged one).
    public var unloggedPageLimit: Int {
        guard let perPage = loggedNanosPerPage, perPage > 0 else { return Int.max }
        let n = unloggedNanos / (margin * perPage * pageScale)
        return n >= 1e9 ? Int.max : max(1, Int(n.rounded(.up)))
    }

    /// A logged sync that cost `cost` in all for `pages` dirty pages.
    mutating func noteLogged(cost: Double, pages: Int) {
        guard pages > 0 else { return }
        let perPage = cost / Double(pages)
        loggedNanosPerPage = loggedNanosPerPage.map { 0.8 * $0 + 0.2 * min(perPage, 1.25 * $0) } ?? perPage
    }

    /// An unlogged sync that cost `syncNanos`: every one is a fresh measurement on this host.
    /// Noise from other load only ever adds time, so a sample counts at most 1.25x the
    /// estimate: stalls must not carry the estimate up, a real rise still does within ~20 syncs.
    mutating func noteUnlogged(syncNanos: Double) {
        unloggedNanos = 0.8 * unloggedNanos + 0.2 * min(max(syncNanos, 1), 1.25 * unloggedNanos)
    }

    /// The first logged sync after a return dirtied `dirtied` pages where the compare that
    /// brought it back found `changed`.
    mutating func learnPageScale(dirtied: Int, changed: Int) {
        pageScale = min(64, max(1, Double(dirtied) / Double(changed)))
    }
}
