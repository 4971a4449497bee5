import Foundation

/// Runs `body` (a sync) on a dedicated thread at most `1/period` times a second on average. A guest
/// frame doorbell (`poke`) starts the next call at once when the rate allows, so a guest
/// paced at or below the refresh rate is shown right after each frame rather than up to a
/// period later. A guest that rings doorbells is refreshed at its doorbells (its screen is
/// complete then); one that does not is refreshed once per period.
///
/// `@unchecked Sendable`: its state is guarded by `cond`, a condition variable the refresh
/// thread waits on (a `Mutex` cannot wait).
public final class SyncLoop: @unchecked Sendable {
    public let period: Double
    let body: () -> Void
    private let cond = NSCondition()
    private var stopped = false
    private var done = false
    private var poked = false
    private var lastPoke = Date.distantPast
    /// A token bucket: one token per period, at most 1.25 saved (so doorbell jitter does not
    /// cost a whole period), one spent per call.
    private static let bucket = 1.25

    /// Syncs per second at most for a display refreshing at `display` Hz and a guest paced
    /// at `guestHz` (0: free-running): the display rate, or half again the guest's rate if that
    /// is higher, at most 1000. Syncs run at the guest's doorbells, so a paced guest's frame
    /// reaches the shadow right after it completes at any pair of rates, and sinks present at
    /// their own pace from the damage log. The margin keeps a token ready for every doorbell
    /// despite jitter; a free-running guest is synced at the display rate.
    public static func rate(display: Double, guestHz: Double) -> Double {
        min(1000, max(display, guestHz * 1.5))
    }

    public init(period: Double, body: @escaping () -> Void) {
        self.period = period
        self.body = body
    }

    public func start() {
        let t = Thread { [self] in
            var tokens = 1.0, stamp = Date()
            func refill() {
                let now = Date()
                tokens = min(Self.bucket, tokens + now.timeIntervalSince(stamp) / period)
                stamp = now
            }
            cond.lock()
            while !stopped {
                poked = false
                tokens -= 1
                cond.unlock()
                body()
                cond.lock()
                while !stopped {
                    refill()
                    if tokens < 1 {
                        _ = cond.wait(until: Date().addingTimeInterval((1 - tokens) * period))
                        continue
                    }
                    let rings = Date().timeIntervalSince(lastPoke) < 1
                    if !rings || poked { break }
                    // Wait for the next doorbell; refresh anyway if the guest stalls.
                    if !cond.wait(until: stamp.addingTimeInterval(10 * period)) { break }
                }
            }
            done = true
            cond.broadcast()
            cond.unlock()
        }
        t.name = "refresh"
        t.start()
    }

    /// A guest frame is complete: refresh as soon as the period allows.
    public func poke() {
        cond.lock()
        poked = true
        lastPoke = Date()
        cond.signal()
        cond.unlock()
    }

    public func stop() {
        cond.lock()
        stopped = true
        cond.broadcast()
        while !done { cond.wait() }
        cond.unlock()
    }
}
