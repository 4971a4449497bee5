/// The guest's frame rate, measured: guest frames counted in windows of `rateWindowFrames`
/// (an exploration: `exploreFrames`), or `maxWindowNanos` for a guest that draws almost
/// nothing (an exploration: `maxExploreNanos`), or, logged, `busyWindowSyncs` syncs, timed by
/// the intervals between syncs **without stalls**: an interval over `stallFactor` times the
/// method's typical one and over `minStallNanos` (the process was descheduled, or the guest
/// held elsewhere, e.g. the bench's other cells taking their turn) counts neither its time nor
/// its frames, so a host stall cannot make a window look slow. Its sum of stall-free time is
/// the policy's clock.
public struct RateWindow: Sendable {
    /// Guest frames a rate window counts (an exploration: `exploreFrames`).
    public var rateWindowFrames = 6
    public var exploreFrames = 4
    /// A window closes after this much stall-free time even with fewer frames (an exploration
    /// after `maxExploreNanos`): a guest that draws almost nothing.
    public var maxWindowNanos = 250e6
    public var maxExploreNanos = 100e6
    /// A logged window also closes after this many syncs (a refresher syncing back to back
    /// over a starved guest: 96 syncs with under 6 frames are already 16 syncs a frame).
    public var busyWindowSyncs = 96
    /// An interval between syncs over this many times the method's typical one, and over
    /// `minStallNanos`, is a stall (a refresher preempted for a few hundred microseconds on a
    /// busy host is not: the guest may well have drawn in that time).
    public var stallFactor = 8.0
    public var minStallNanos = 2e6

    /// Intervals left out of the windows and the clock as stalls.
    public private(set) var stalls = 0
    /// The policy's clock: the sum of the stall-free intervals it was given (ns).
    public private(set) var clock = 0.0
    /// The open window: its stall-free time, guest frames and syncs.
    private(set) var nanos = 0.0
    private(set) var frames = 0
    private(set) var syncs = 0
    /// Typical interval between syncs in each method (ns), for telling stalls apart.
    private var typicalLogged: Double?
    private var typicalUnlogged: Double?

    /// A window that closed: the guest's frame rate in it, and syncs per guest frame.
    struct Closed {
        var fps: Double
        var syncsPerFrame: Double
    }

    /// Adds one interval between syncs in `method` and the guest frames completed in it.
    /// Returns whether it was a stall, and the window if this interval closed it.
    mutating func add(interval: Double, guestFrames: Int, method: DisplayMethod, exploring: Bool) -> (stalled: Bool, closed: Closed?) {
        let typical = method == .logged ? typicalLogged : typicalUnlogged
        let stalled = interval > minStallNanos && typical.map { interval > stallFactor * $0 } ?? false
        // A stall nudges the typical interval up (a real change of pace is learned within
        // a few syncs), at most `stallFactor` times, so one long stall cannot hide the next.
        let next = typical.map { 0.8 * $0 + 0.2 * min(interval, stallFactor * $0) } ?? interval
        if method == .logged { typicalLogged = next } else { typicalUnlogged = next }
        if stalled {
            stalls += 1
        } else {
            clock += interval
            nanos += interval
            frames += guestFrames
            syncs += 1
        }
        let exploringNow = method == .unlogged && exploring
        let enough = exploringNow ? exploreFrames : rateWindowFrames
        let longest = exploringNow ? maxExploreNanos : maxWindowNanos
        let busy = method == .logged && syncs >= busyWindowSyncs
        guard nanos > 0, frames >= enough || nanos >= longest || busy else { return (stalled, nil) }
        let syncsPerFrame = frames == 0 ? .infinity : Double(syncs) / Double(frames)
        return (stalled, Closed(fps: Double(frames) * 1e9 / nanos, syncsPerFrame: syncsPerFrame))
    }

    /// Starts a new window (the clock and the typical intervals go on).
    mutating func reset() {
        nanos = 0
        frames = 0
        syncs = 0
    }
}
