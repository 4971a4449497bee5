import KVM
import Machine

/// The mode actually used, the KVM logging it needs, and why (for `--stats` and `ringside info`).
public struct TrackingPlan: Sendable {
    public var requested: TrackingMode
    public var mode: TrackingMode
    public var logging: DirtyLogging
    public var reason: String

    /// Where dirtiness comes from on this host (auto: where it comes from while logged).
    public var source: LogSource { LogSource(logging) }
    /// How the shadow is refreshed.
    public var refresh: RefreshStrategy { mode.refresh }

    public static let defaultRingEntries = 4096

    /// Legal ring sizes on this host, in entries: one page of entries up to the KVM maximum.
    public static func ringEntryRange(_ caps: HostCapabilities) -> ClosedRange<Int>? {
        let maxBytes = max(caps.dirtyRingAcqRelBytes, caps.dirtyRingBytes)
        let minEntries = 4096 / HostCapabilities.ringEntryBytes
        guard maxBytes >= 4096 else { return nil }
        return minEntries...(maxBytes / HostCapabilities.ringEntryBytes)
    }

    /// Decides the logging for `mode` on a host with `caps`. The ring falls back to the
    /// bitmap when the kernel does not offer it, and says so.
    public static func make(mode: TrackingMode, ringEntries: Int, caps: HostCapabilities, migration: Bool) throws(TrackingError) -> TrackingPlan {
        if migration && !mode.hasPageList { throw .noPageList(mode) }
        switch mode {
        case .ring:
            guard let range = ringEntryRange(caps) else {
                return bitmapPlan(requested: .ring, caps: caps,
                                  why: "the kernel offers no dirty ring (KVM_CAP_DIRTY_LOG_RING unsupported); using KVM_GET_DIRTY_LOG")
            }
            guard ringEntries > 0, ringEntries & (ringEntries - 1) == 0, range.contains(ringEntries) else {
                throw .badRingSize("--ring-entries \(ringEntries) is invalid: use a power of two from \(range.lowerBound) to \(range.upperBound) (this host's KVM limit)")
            }
            if caps.dirtyRingAcqRelBytes >= ringEntries * HostCapabilities.ringEntryBytes {
                return TrackingPlan(requested: .ring, mode: .ring, logging: .ring(entries: ringEntries, acquireRelease: true),
                                    reason: "dirty ring with KVM_CAP_DIRTY_LOG_RING_ACQ_REL, \(ringEntries) entries per vCPU")
            }
            return TrackingPlan(requested: .ring, mode: .ring, logging: .ring(entries: ringEntries, acquireRelease: false),
                                reason: "dirty ring with KVM_CAP_DIRTY_LOG_RING (no ACQ_REL on this host), \(ringEntries) entries per vCPU")
        case .bitmap:
            return bitmapPlan(requested: .bitmap, caps: caps, why: nil)
        case .compare:
            return TrackingPlan(requested: mode, mode: mode, logging: .none, reason: "no KVM logging: tiles compared with the shadow")
        case .full:
            return TrackingPlan(requested: mode, mode: mode, logging: .none, reason: "no KVM logging: every tile repainted every refresh")
        case .auto:
            var logged = try make(mode: .ring, ringEntries: ringEntries, caps: caps, migration: migration)
            logged.reason = "adaptive: \(logged.reason) while the screen is sparse, unlogged full repaint while that costs less"
            logged.requested = .auto
            logged.mode = .auto
            return logged
        }
    }

    public static func bitmapPlan(requested: TrackingMode, caps: HostCapabilities, why: String?) -> TrackingPlan {
        let manual = caps.manualProtect & 1 // KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE
        let what = manual != 0 ? "KVM_GET_DIRTY_LOG + KVM_CLEAR_DIRTY_LOG (manual protect)" : "KVM_GET_DIRTY_LOG"
        return TrackingPlan(requested: requested, mode: .bitmap, logging: .bitmap(manualProtect: manual), reason: why ?? what)
    }
}
