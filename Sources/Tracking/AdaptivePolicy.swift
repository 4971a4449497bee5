/// How `--tracking auto` keeps the framebuffer at any moment.
public enum DisplayMethod: String, Sendable {
    /// KVM logs the framebuffer slot; only dirty pages are copied.
    case logged
    /// The slot is not logged; every sync finds the changed tiles by comparing (stopping at
    /// the count where logging could no longer win) and copies the rest of the frame whole.
    case full
}

/// Decides, sync by sync, between logged tracking and unlogged repaint from costs measured
/// on this host, not from thresholds tuned on one machine. Pure logic: the session feeds it
/// each sync's cost and counts and carries out what it says.
///
/// The cost of a logged sync is the host's (harvest + reset + fold + copy) **plus the
/// guest's**: every page the guest dirtied since the last reset took one dirty-logged write
/// fault, `faultNanos` each (measured on this host by `WriteFaultProbe`: about 2 us on some
/// hosts of this kind, 29 us on others). An unlogged sync costs the host only.
///
/// - **Logged to unlogged**: when logged syncs cost more than `margin` times an unlogged
///   sync for `streak` syncs in a row (a dense screen, or a host where faults are dear), or
///   the faults of one sync alone cost more than `farOver` times an unlogged sync (a
///   full-screen animation starting: each logged frame of it costs the guest a fault on
///   every page; counted pages, not a timing, so host noise cannot trigger it).
/// - **Unlogged to logged**: every unlogged sync compares the frame with the shadow until it
///   has found enough changed tiles to cover `unloggedPageLimit` pages (beyond that logging
///   cannot win, so the rest is copied whole: a dense screen costs about a full copy), and
///   counts the framebuffer pages the changed tiles overlap: the pages a guest writing just
///   those pixels would dirty. When, for `returnStreak` syncs in a row, those pages at the
///   cost per page last measured in logged mode (host and faults) predict a logged sync under
///   the unlogged cost by `margin`, it switches back. A return that proves wrong (back to
///   unlogged within `4 * streak` logged syncs) doubles the streak needed next time, up to
///   `maxReturnStreak`, and teaches the policy how many more pages the guest dirties than
///   the compare found changed (`pageScale`: a guest rewriting equal pixels). So a dense
///   phase costs one switch in and one out, without flapping.
/// - **The guest's frame rate, measured**: the fault cost is probed on an idle host; under
///   load a fault can cost far more. So the policy also counts the guest's frames over windows
///   of `rateWindowNanos` in each method. A logged window whose rate is under `slowerFraction`
///   of the unlogged rate measured in the last `rateMemoryNanos` switches to unlogged at once,
///   and no return is tried for a hold-off that doubles each time (50 ms up to 4 s) until a
///   logged window keeps up. To have an unlogged rate to compare with, a logged policy fed
///   frame counts spends one window unlogged at its first complete window and again whenever
///   its unlogged rate is older than `exploreEveryNanos` (10 s: about 0.25% of the time).
///   A paced guest draws the same frames either way: only its cost decides.
public struct AdaptivePolicy: Sendable {
    public var margin = 1.1
    public var streak = 3
    public var farOver = 4.0
    public var returnStreak = 2
    public var maxReturnStreak = 32
    public var slowerFraction = 0.67
    public var rateWindowNanos = 25e6
    public var rateMemoryNanos = 2e9
    public var minHoldOffNanos = 50e6
    public var maxHoldOffNanos = 4e9
    public var exploreEveryNanos = 10e9
    /// Unlogged to measure the guest's rate there: no return before a window completes.
    private var exploring = false
    /// The policy's clock: the sum of the intervals it was given (ns).
    private var clock = 0.0
    private var windowNanos = 0.0
    private var windowFrames = 0
    /// The last complete unlogged window's guest frame rate, and when it ended.
    private var unloggedRate: (fps: Double, at: Double)?
    private var holdOff = 0.0
    private var holdOffUntil = 0.0
    /// Nanoseconds of one unlogged sync on this host (measured, then averaged).
    public private(set) var unloggedNanos: Double
    /// The guest's cost of one dirty-logged first write to a page, in nanoseconds.
    public let faultNanos: Double
    /// Nanoseconds (host and guest) per dirty page in logged mode (measured, averaged).
    public private(set) var loggedNanosPerPage: Double?
    public private(set) var method: DisplayMethod = .logged
    private var overBudget = 0
    private var underBudget = 0
    private var currentReturnStreak: Int
    /// Logged syncs since the policy came back to logging (nil: not back from unlogged).
    private var syncsSinceReturn: Int?
    /// Pages the unlogged sync that brought the method back counted.
    private var returnPages = 0
    /// How many more pages the guest dirties in logged mode than the changed tiles overlap (a
    /// guest that rewrites pixels with their own values), learned at each return (the first
    /// logged sync after it). Predictions are scaled by it. At least 1: a change smaller than
    /// its tiles makes the prediction too high, which only delays a return, never makes a
    /// wrong one (a scale under 1 learned from a cursor made dense frames look cheap).
    public private(set) var pageScale = 1.0

    /// - Parameters:
    ///   - fullCopyNanos: one full-frame copy on this host (the first estimate of an unlogged sync).
    ///   - faultNanos: the guest's cost of one dirty-logged write fault on this host.
    public init(fullCopyNanos: Double, faultNanos: Double = 0) {
        unloggedNanos = max(fullCopyNanos, 1)
        self.faultNanos = max(0, faultNanos)
        currentReturnStreak = returnStreak
    }

    /// What to do after a sync: stay, or switch to `method`.
    public enum Decision: Equatable, Sendable { case stay, switchTo(DisplayMethod) }

    /// In unlogged mode: how many changed pages the next sync should look for before it stops
    /// comparing (with that many, a logged sync would cost more than an unlogged one).
    public var unloggedPageLimit: Int {
        guard let perPage = loggedNanosPerPage, perPage > 0 else { return Int.max }
        let n = unloggedNanos / (margin * perPage * pageScale)
        return n >= 1e9 ? Int.max : max(1, Int(n.rounded(.up)))
    }

    /// What a logged sync that cost the host `syncNanos` and dirtied `pages` costs in all.
    public func loggedCost(syncNanos: Double, pages: Int) -> Double { syncNanos + faultNanos * Double(pages) }

    /// Feeds one sync: its host cost, the tiles it repainted (logged) or found changed
    /// (unlogged), and the pages the guest dirtied (logged: each one write fault) or the
    /// pages the changed tiles overlap (unlogged).
    /// `intervalNanos`: wall time since the previous sync began (nil: unknown, e.g. tests of
    /// the cost rule alone). `copiedAll`: a logged sync that copied the whole frame once after
    /// logging came back on (not a measurement of logging; it is ignored).
    /// `guestFrames`: frames the guest completed (all vCPUs) since the previous sync.
    public mutating func observe(syncNanos: Double, tiles: Int, pages: Int = 0, intervalNanos: Double? = nil,
                                 guestFrames: Int? = nil, copiedAll: Bool = false) -> Decision {
        var rate: Double?
        if let intervalNanos, let guestFrames {
            clock += intervalNanos
            windowNanos += intervalNanos
            windowFrames += guestFrames
            if windowNanos >= rateWindowNanos {
                rate = Double(windowFrames) * 1e9 / windowNanos
                windowNanos = 0
                windowFrames = 0
            }
        }
        switch method {
        case .logged:
            if let rate, let u = unloggedRate, clock - u.at < rateMemoryNanos, u.fps > 0 {
                if rate < slowerFraction * u.fps {
                    // Measured: logging slows the guest down, whatever the model says.
                    holdOff = min(max(2 * holdOff, minHoldOffNanos), maxHoldOffNanos)
                    holdOffUntil = clock + holdOff
                    return switchToUnlogged()
                }
                holdOff = 0
            }
            if rate != nil, unloggedRate.map({ clock - $0.at > exploreEveryNanos }) ?? true {
                exploring = true
                method = .full
                overBudget = 0
                underBudget = 0
                return .switchTo(.full)
            }
            if copiedAll { return .stay }
            // A sync that found nothing says nothing about logging's cost.
            if pages == 0 && tiles == 0 { return .stay }
            let cost = loggedCost(syncNanos: syncNanos, pages: pages)
            if pages > 0 {
                let perPage = cost / Double(pages)
                loggedNanosPerPage = loggedNanosPerPage.map { 0.8 * $0 + 0.2 * min(perPage, 1.25 * $0) } ?? perPage
            }
            if syncsSinceReturn == 0, returnPages > 0 {
                pageScale = min(64, max(1, Double(pages) / Double(returnPages)))
            }
            overBudget = cost > margin * unloggedNanos ? overBudget + 1 : 0
            if faultNanos * Double(pages) > farOver * unloggedNanos { overBudget = streak }
            syncsSinceReturn = syncsSinceReturn.map { $0 + 1 }
            if let n = syncsSinceReturn, n >= 4 * streak { currentReturnStreak = returnStreak; syncsSinceReturn = nil }
            guard overBudget >= streak else { return .stay }
            return switchToUnlogged()
        case .full:
            if let rate {
                unloggedRate = (rate, clock)
                exploring = false
            }
            // Every unlogged sync is a fresh measurement of its cost on this host. Noise from
            // other load only ever adds time, so a sample counts at most 1.25x the estimate:
            // stalls must not carry the estimate up, a real rise still does within ~20 syncs.
            unloggedNanos = 0.8 * unloggedNanos + 0.2 * min(max(syncNanos, 1), 1.25 * unloggedNanos)
            // Before any logged sync has dirtied a page (the first rate window can close on the
            // first sync when the host is busy), predict from the fault cost alone: staying
            // unlogged until a measurement that can only come from logging would be for ever.
            let perPage = loggedNanosPerPage ?? max(faultNanos, 1)
            let predicted = perPage * Double(pages) * pageScale
            underBudget = predicted * margin < unloggedNanos ? underBudget + 1 : 0
            guard underBudget >= currentReturnStreak, clock >= holdOffUntil, !exploring else { return .stay }
            underBudget = 0
            overBudget = 0
            returnPages = pages
            syncsSinceReturn = 0
            method = .logged
            windowNanos = 0
            windowFrames = 0
            return .switchTo(.logged)
        }
    }

    private mutating func switchToUnlogged() -> Decision {
        overBudget = 0
        underBudget = 0
        method = .full
        windowNanos = 0
        windowFrames = 0
        // Back in unlogged soon after a return: the return was wrong, so ask for a longer
        // calm next time. A long logged stretch resets it (in `observe`).
        if syncsSinceReturn != nil { currentReturnStreak = min(currentReturnStreak * 2, maxReturnStreak) }
        syncsSinceReturn = nil
        return .switchTo(.full)
    }

    /// Logging must stay on (a migration subscriber needs the framebuffer's pages).
    public mutating func pinLogged() -> Decision {
        guard method == .full else { return .stay }
        method = .logged
        overBudget = 0
        underBudget = 0
        return .switchTo(.logged)
    }
}
