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
///   the faults of each of two syncs in a row alone cost more than `farOver` times an
///   unlogged sync (a full-screen animation starting: each logged frame of it costs the guest
///   a fault on every page; counted pages, not a timing, so host noise cannot trigger it; one
///   dense frame, such as a guest's first, is not an animation).
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
///   load a fault can cost far more (a refresher syncing back to back resets the pages the
///   guest is drawing). So the policy also counts the guest's frames in each method, in
///   windows of `rateWindowFrames` guest frames (or `maxWindowNanos`, for a guest that draws
///   almost nothing; logged, also `busyWindowSyncs` syncs), timed by the intervals between syncs **without stalls**: an interval
///   over `stallFactor` times the method's typical one and over 2 ms (the process was
///   descheduled, or the guest held elsewhere, e.g. the bench's other cells taking their
///   turn) counts neither its time nor its frames, so a host stall cannot make a window look
///   slow. While logged, once
///   the time since the window began would have given `rateWindowFrames` frames at the
///   unlogged rate measured in the last `rateMemoryNanos`, a window with under
///   `slowerFraction` of them switches to unlogged at once, and no return is tried for a
///   hold-off that doubles each time (50 ms up to 4 s) until a logged window keeps up.
/// - **Exploring only where it can matter**: to have an unlogged rate to compare with, a
///   logged policy spends one short window (`exploreFrames` frames) unlogged, but only when
///   its logged window took at least `exploreSyncsPerFrame` syncs per guest frame: only then
///   is a frame reset (and re-faulted) while it is drawn, which is how a refresher starves a
///   guest beyond what the counted faults say. A guest in lockstep or paced to the display
///   (one sync per frame, or fewer) pays exactly the faults the cost rule already weighs, so
///   it is never explored. Exploration repeats when the unlogged rate is older than
///   `exploreEveryNanos` (10 s of the policy's stall-free clock), and each exploration that
///   finds logging keeping up doubles that, up to `maxExploreEveryNanos`.
/// - **Host stalls do not count as logging's cost**: a logged sync counts as over budget only
///   when its pages, at the averaged cost per page, also predict it over budget (a sync
///   inflated by preemption with few pages is noise, not a dense screen).
public struct AdaptivePolicy: Sendable {
    public var margin = 1.1
    public var streak = 3
    public var farOver = 4.0
    public var returnStreak = 2
    public var maxReturnStreak = 32
    public var slowerFraction = 0.67
    /// Guest frames a rate window counts (an exploration: `exploreFrames`).
    public var rateWindowFrames = 6
    public var exploreFrames = 4
    /// A window closes after this much stall-free time even with fewer frames (an exploration
    /// after `maxExploreNanos`): a guest that draws almost nothing.
    public var maxWindowNanos = 250e6
    /// A logged window also closes after this many syncs (a refresher syncing back to back
    /// over a starved guest: 96 syncs with under 6 frames are already 16 syncs a frame).
    public var busyWindowSyncs = 96
    public var maxExploreNanos = 100e6
    /// An interval between syncs over this many times the method's typical one, and over
    /// `minStallNanos`, is a stall (a refresher preempted for a few hundred microseconds on a
    /// busy host is not: the guest may well have drawn in that time).
    public var stallFactor = 8.0
    public var minStallNanos = 2e6
    public var rateMemoryNanos = 2e9
    public var minHoldOffNanos = 50e6
    public var maxHoldOffNanos = 4e9
    /// A logged window with at least this many syncs per guest frame may be explored.
    public var exploreSyncsPerFrame = 2.0
    public var exploreEveryNanos = 10e9
    public var maxExploreEveryNanos = 160e9
    /// Unlogged to measure the guest's rate there: no return before its window completes.
    public private(set) var exploring = false
    /// Why the last switch this policy asked for was made.
    public private(set) var lastReason: SwitchReason = .forced
    /// Explorations started so far.
    public private(set) var explorations = 0
    /// Intervals left out of the rate windows and the clock as stalls.
    public private(set) var stalls = 0
    /// The exploration just made has not yet been compared with a logged window.
    private var explorationUnjudged = false
    private var exploreEvery: Double
    /// The policy's clock: the sum of the stall-free intervals it was given (ns).
    private var clock = 0.0
    private var windowNanos = 0.0
    private var windowFrames = 0
    private var windowSyncs = 0
    /// Typical interval between syncs in each method (ns), for telling stalls apart.
    private var typicalLogged: Double?
    private var typicalUnlogged: Double?
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
    private var farOverSyncs = 0
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
        exploreEvery = exploreEveryNanos
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
        // The rate window: stall-free intervals, their guest frames and syncs.
        var closed: (fps: Double, syncsPerFrame: Double)?
        var stalled = false
        if let intervalNanos, let guestFrames {
            let typical = method == .logged ? typicalLogged : typicalUnlogged
            stalled = intervalNanos > minStallNanos && typical.map { intervalNanos > stallFactor * $0 } ?? false
            // A stall nudges the typical interval up (a real change of pace is learned within
            // a few syncs), at most `stallFactor` times, so one long stall cannot hide the next.
            let next = typical.map { 0.8 * $0 + 0.2 * min(intervalNanos, stallFactor * $0) } ?? intervalNanos
            if method == .logged { typicalLogged = next } else { typicalUnlogged = next }
            if stalled {
                stalls += 1
            } else {
                clock += intervalNanos
                windowNanos += intervalNanos
                windowFrames += guestFrames
                windowSyncs += 1
            }
            let exploringNow = method == .unlogged && exploring
            let frames = exploringNow ? exploreFrames : rateWindowFrames
            let longest = exploringNow ? maxExploreNanos : maxWindowNanos
            let busy = method == .logged && windowSyncs >= busyWindowSyncs
            if windowNanos > 0, windowFrames >= frames || windowNanos >= longest || busy {
                closed = (Double(windowFrames) * 1e9 / windowNanos, Double(windowSyncs) / Double(max(windowFrames, 1)))
                if windowFrames == 0 { closed!.syncsPerFrame = .infinity }
            }
        }
        switch method {
        case .logged:
            if !stalled, let u = unloggedRate, clock - u.at < rateMemoryNanos, u.fps > 0 {
                // Judged as soon as the window's time would have given a window's frames unlogged.
                let expected = u.fps * windowNanos / 1e9
                if expected >= Double(rateWindowFrames) {
                    if Double(windowFrames) < slowerFraction * expected {
                        lastReason = .guestSlowed(loggedFPS: Double(windowFrames) * 1e9 / windowNanos, unloggedFPS: u.fps)
                        // Measured: logging slows the guest down, whatever the model says.
                        holdOff = min(max(2 * holdOff, minHoldOffNanos), maxHoldOffNanos)
                        holdOffUntil = clock + holdOff
                        exploreEvery = exploreEveryNanos
                        explorationUnjudged = false
                        return switchToUnlogged()
                    }
                    holdOff = 0
                }
            }
            if let closed {
                resetWindow()
                // Logging kept up with the unlogged rate the exploration measured: it was not
                // needed, so the next one waits twice as long.
                if explorationUnjudged {
                    explorationUnjudged = false
                    exploreEvery = min(2 * exploreEvery, maxExploreEveryNanos)
                }
                if closed.syncsPerFrame >= exploreSyncsPerFrame, unloggedRate.map({ clock - $0.at > exploreEvery }) ?? true {
                    exploring = true
                    explorations += 1
                    lastReason = .exploring(syncsPerFrame: closed.syncsPerFrame)
                    method = .unlogged
                    overBudget = 0
                    underBudget = 0
                    return .switchTo(.unlogged)
                }
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
            // Over budget by its time and by its pages: a sync inflated by a host stall with few
            // pages is noise, not a dense screen.
            let byPages = pages == 0 || (loggedNanosPerPage ?? 0) * Double(pages) > margin * unloggedNanos
            overBudget = cost > margin * unloggedNanos && byPages ? overBudget + 1 : 0
            // Far over for two syncs in a row: one dense frame (a guest's first, a window
            // opening) is not a dense workload, and leaving logging for it costs a return.
            farOverSyncs = faultNanos * Double(pages) > farOver * unloggedNanos ? farOverSyncs + 1 : 0
            let farOverTwice = farOverSyncs >= 2
            if farOverTwice { overBudget = streak }
            syncsSinceReturn = syncsSinceReturn.map { $0 + 1 }
            if let n = syncsSinceReturn, n >= 4 * streak { currentReturnStreak = returnStreak; syncsSinceReturn = nil }
            guard overBudget >= streak else { return .stay }
            lastReason = farOverTwice
                ? .faultsFarOver(pages: pages, faultMicros: faultNanos * Double(pages) / 1000, unloggedMicros: unloggedNanos / 1000)
                : .loggedCostsMore(loggedMicros: cost / 1000, unloggedMicros: unloggedNanos / 1000, syncs: overBudget)
            return switchToUnlogged()
        case .unlogged:
            if let closed {
                resetWindow()
                unloggedRate = (closed.fps, clock)
                if exploring { explorationUnjudged = true }
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
            lastReason = .calm(predictedMicros: predicted / 1000, unloggedMicros: unloggedNanos / 1000, syncs: underBudget)
            underBudget = 0
            overBudget = 0
            returnPages = pages
            syncsSinceReturn = 0
            method = .logged
            resetWindow()
            return .switchTo(.logged)
        }
    }

    private mutating func switchToUnlogged() -> Decision {
        overBudget = 0
        farOverSyncs = 0
        underBudget = 0
        method = .unlogged
        resetWindow()
        // Back in unlogged soon after a return: the return was wrong, so ask for a longer
        // calm next time. A long logged stretch resets it (in `observe`).
        if syncsSinceReturn != nil { currentReturnStreak = min(currentReturnStreak * 2, maxReturnStreak) }
        syncsSinceReturn = nil
        return .switchTo(.unlogged)
    }

    private mutating func resetWindow() {
        windowNanos = 0
        windowFrames = 0
        windowSyncs = 0
    }

    /// Logging must stay on (a migration subscriber needs the framebuffer's pages).
    public mutating func pinLogged() -> Decision {
        guard method == .unlogged else { return .stay }
        method = .logged
        lastReason = .migration
        exploring = false
        resetWindow()
        overBudget = 0
        underBudget = 0
        return .switchTo(.logged)
    }
}
