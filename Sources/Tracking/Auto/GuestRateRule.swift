/// Logged to unlogged when **the guest draws slower logged**. The fault cost is probed on an
/// idle host; under load a fault can cost far more (a refresher syncing back to back resets
/// the pages the guest is drawing). So while logged, once the window's stall-free time would
/// have given a window's frames at the unlogged rate measured in the last `rateMemoryNanos`,
/// a window with under `slowerFraction` of them switches to unlogged at once, and no return
/// is tried for a hold-off that doubles each time (`minHoldOffNanos` up to `maxHoldOffNanos`)
/// until a logged window keeps up.
public struct GuestRateRule: Sendable {
    public var slowerFraction = 0.67
    public var rateMemoryNanos = 2e9
    public var minHoldOffNanos = 50e6
    public var maxHoldOffNanos = 4e9
    /// The last complete unlogged window's guest frame rate, and the clock when it ended.
    private var unloggedRate: (fps: Double, at: Double)?
    private var holdOff = 0.0
    private var holdOffUntil = 0.0

    /// While logged: the reason to leave logging now, when the open window has had the time
    /// for a window's frames at the unlogged rate and drew too few of them.
    mutating func judge(_ window: RateWindow) -> SwitchReason? {
        guard let u = unloggedRate, window.clock - u.at < rateMemoryNanos, u.fps > 0 else { return nil }
        // Judged as soon as the window's time would have given a window's frames unlogged.
        let expected = u.fps * window.nanos / 1e9
        guard expected >= Double(window.rateWindowFrames) else { return nil }
        guard Double(window.frames) < slowerFraction * expected else {
            holdOff = 0
            return nil
        }
        // Measured: logging slows the guest down, whatever the model says.
        holdOff = min(max(2 * holdOff, minHoldOffNanos), maxHoldOffNanos)
        holdOffUntil = window.clock + holdOff
        return .guestSlowed(loggedFPS: Double(window.frames) * 1e9 / window.nanos, unloggedFPS: u.fps)
    }

    /// An unlogged window closed at `clock` with `closed`'s rate: the rate logged windows are
    /// held against.
    mutating func unloggedWindowClosed(_ closed: RateWindow.Closed, at clock: Double) {
        unloggedRate = (closed.fps, clock)
    }

    /// How old the unlogged rate is at `clock` (nil: none measured yet).
    func unloggedRateAge(at clock: Double) -> Double? { unloggedRate.map { clock - $0.at } }

    /// Whether the hold-off allows a return to logging at `clock`.
    func allowsReturn(at clock: Double) -> Bool { clock >= holdOffUntil }
}
