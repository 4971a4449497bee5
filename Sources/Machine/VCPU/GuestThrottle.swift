import Synchronization

/// A brake on the guest's pace, for auto-converge (live migration): with `percent` p, a vCPU
/// spends p% of its time held after each frame doorbell. A paced guest's period is stretched
/// to period * 100 / (100 - p); a free-running one is held for p / (100 - p) times the time its
/// frame took. Pictures depend on frame numbers, not on time, so a slowed guest draws the same
/// frames, fewer of them a second. Set from any thread; each vCPU reads it at its doorbell.
public final class GuestThrottle: Sendable {
    /// The most the guest is slowed: it keeps 1% of its pace (QEMU's cpu-throttle-max).
    public static let maxPercent = 99
    private let value = Atomic<Int>(0)

    public init() {}

    /// The share of time held, 0 (not slowed) through `maxPercent`.
    public var percent: Int { value.load(ordering: .relaxed) }

    /// Slows the guest by `percent` (clamped to 0...`maxPercent`); 0 restores its pace.
    public func set(percent: Int) { value.store(min(max(percent, 0), Self.maxPercent), ordering: .relaxed) }
}
