/// Pacing (`MachineConfig.guestHz`): after each frame doorbell a vCPU is held until its next
/// tick, so the guest draws at most `hz` frames a second. A function over time: the vCPU
/// thread passes the host's monotonic clock and holds until the tick this returns (a pause
/// or stop cuts the hold short).
struct Pacer: Sendable, Equatable {
    /// Nanoseconds between ticks; 0 when the guest runs free.
    let period: UInt64
    /// The tick the vCPU last held until (host monotonic ns).
    private(set) var deadline: UInt64
    /// When the vCPU was last let go (host monotonic ns): a slowed free-running frame's start.
    private var released: UInt64
    /// Longest frame a throttled free-running hold is measured from (a pause in between is not running).
    static let longestThrottledFrame: UInt64 = 100_000_000

    /// A pacer for `hz` ticks a second (0 or less: free-running), counting from host time `start`.
    init(hz: Double, start: UInt64) {
        period = Self.period(hz: hz)
        deadline = start
        released = start
    }

    static func period(hz: Double) -> UInt64 { hz > 0 ? UInt64(1e9 / hz) : 0 }

    /// The host time to hold until after a doorbell rung at `now`, or nil when free-running.
    /// A vCPU more than a period behind starts again from `now`: it does not catch up in a burst.
    /// `throttle` (`GuestThrottle`, percent) stretches the period, or holds a free-running vCPU
    /// for that share of its time.
    mutating func nextTick(now: UInt64, throttle: Int = 0) -> UInt64? {
        let p = UInt64(min(max(throttle, 0), GuestThrottle.maxPercent))
        guard period > 0 else {
            guard p > 0 else { released = now; return nil }
            let ran = min(now &- min(released, now), Self.longestThrottledFrame)
            released = now + ran * p / (100 - p)
            return released
        }
        let stretched = period * 100 / (100 - p)
        deadline += stretched
        if deadline + stretched < now { deadline = now }
        released = deadline
        return deadline
    }

    /// The tick number the counters page shows at guest time `uptime` (0 when free-running).
    static func tick(uptime: UInt64, period: UInt64) -> UInt64 { period > 0 ? uptime / period : 0 }
}
