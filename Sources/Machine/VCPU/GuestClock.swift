import Dispatch
import Synchronization

/// The guest's clock: nanoseconds since its zero, which the counters page shows as
/// `uptime_ns` (and the pacing tick comes from). A migrated guest's zero is moved back so its
/// clock continues from the source's.
final class GuestClock: Sendable {
    /// The zero, in host monotonic ns. Plain process memory (not shared with the guest).
    private let zero = Atomic<UInt64>(DispatchTime.now().uptimeNanoseconds)

    /// The guest's time now.
    var uptimeNanos: UInt64 { DispatchTime.now().uptimeNanoseconds &- zero.load(ordering: .relaxed) }

    /// Continues the clock from `uptime` (wrapping: the source's host may have been up longer).
    func continueFrom(uptime: UInt64) {
        zero.store(DispatchTime.now().uptimeNanoseconds &- uptime, ordering: .relaxed)
    }
}
