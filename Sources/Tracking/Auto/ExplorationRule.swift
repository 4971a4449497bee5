/// **Exploring only where it can matter.** To have an unlogged rate to compare with
/// (`GuestRateRule`), a logged policy spends one short window unlogged, but only when its
/// logged window took at least `exploreSyncsPerFrame` syncs per guest frame: only then is a
/// frame reset (and re-faulted) while it is drawn, which is how a refresher starves a guest
/// beyond what the counted faults say. A guest in lockstep or paced to the display (one sync
/// per frame, or fewer) pays exactly the faults the cost rule already weighs, so it is never
/// explored. Exploration repeats when the unlogged rate is older than `exploreEveryNanos` (of
/// the policy's stall-free clock), and each exploration that finds logging keeping up doubles
/// that, up to `maxExploreEveryNanos`.
public struct ExplorationRule: Sendable {
    public var exploreSyncsPerFrame = 2.0
    public var exploreEveryNanos = 10e9
    public var maxExploreEveryNanos = 160e9
    /// Unlogged to measure the guest's rate there: no return before its window completes.
    public private(set) var exploring = false
    /// Explorations started so far.
    public private(set) var explorations = 0
    /// The exploration just made has not yet been compared with a logged window.
    private var unjudged = false
    /// The unlogged rate's age at which the next exploration may start.
    private var every: Double

    init() { every = exploreEveryNanos }

    /// A logged window closed with `closed`'s rate, the unlogged rate being `unloggedRateAge`
    /// old: the reason to explore now, if it is time.
    mutating func loggedWindowClosed(_ closed: RateWindow.Closed, unloggedRateAge: Double?) -> SwitchReason? {
        // Logging kept up with the unlogged rate the exploration measured: it was not
        // needed, so the next one waits twice as long.
        if unjudged {
            unjudged = false
            every = min(2 * every, maxExploreEveryNanos)
        }
        guard closed.syncsPerFrame >= exploreSyncsPerFrame, unloggedRateAge.map({ $0 > every }) ?? true else { return nil }
        exploring = true
        explorations += 1
        return .exploring(syncsPerFrame: closed.syncsPerFrame)
    }

    /// An unlogged window closed: an exploration has its rate.
    mutating func unloggedWindowClosed() {
        if exploring { unjudged = true }
        exploring = false
    }

    /// The guest drew slower logged: exploring was worth it, so the wait starts over.
    mutating func guestSlowed() {
        every = exploreEveryNanos
        unjudged = false
    }

    /// Logging is pinned on: an exploration in progress ends.
    mutating func stop() { exploring = false }
}
