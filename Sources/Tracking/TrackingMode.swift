import Machine

/// The `--tracking` choice: a pair of a log source (where dirtiness comes from) and a refresh
/// strategy (how the shadow is brought up to date). The plan (`TrackingPlan`) settles the
/// source for this host; the session, the harvester and the display each use one axis.
public enum TrackingMode: String, CaseIterable, Sendable {
    /// KVM dirty rings (`KVM_CAP_DIRTY_LOG_RING_ACQ_REL`, else `KVM_CAP_DIRTY_LOG_RING`),
    /// copying the dirty pages.
    case ring
    /// `KVM_GET_DIRTY_LOG` (+ `KVM_CLEAR_DIRTY_LOG` with manual protect), copying the dirty pages.
    case bitmap
    /// No logging: compare guest memory with the shadow, tile by tile.
    case compare
    /// No logging: every tile is repainted every refresh.
    case full
    /// Logged (ring, else bitmap) while the screen is sparse, unlogged compare while logging
    /// costs more, switching by measured cost (`AdaptivePolicy`).
    case auto

    /// The four fixed methods (the benchmark's default matrix; `auto` chooses among them).
    public static let fixed: [TrackingMode] = [.ring, .bitmap, .compare, .full]

    /// Whether this mode can give a migration consumer its page list.
    public var hasPageList: Bool { self == .ring || self == .bitmap || self == .auto }

    /// How this mode refreshes the shadow.
    public var refresh: RefreshStrategy {
        switch self {
        case .ring, .bitmap: .pages
        case .compare: .compare
        case .full: .full
        case .auto: .adaptive
        }
    }
}

/// Where the dirtiness of guest memory comes from: one axis of a `TrackingMode`.
public enum LogSource: String, Sendable {
    /// Each vCPU's KVM dirty ring, walked and reset at every harvest.
    case ring
    /// `KVM_GET_DIRTY_LOG` per logged slot (then `KVM_CLEAR_DIRTY_LOG` with manual protect).
    case bitmap
    /// Nothing is logged: the display finds changes itself (compare or full).
    case none

    /// The source KVM logging of `logging` gives.
    public init(_ logging: DirtyLogging) {
        switch logging {
        case .ring: self = .ring
        case .bitmap: self = .bitmap
        case .none: self = .none
        }
    }
}

/// How each sync brings the shadow up to date with guest memory: the other axis of a
/// `TrackingMode`. The first sync after a mode set copies the whole frame whatever the strategy.
public enum RefreshStrategy: String, Sendable {
    /// Copy exactly the dirty pages the log source reported (ring and bitmap).
    case pages
    /// Compare every tile with the shadow and copy those that changed.
    case compare
    /// Copy the whole frame and repaint every tile.
    case full
    /// `--tracking auto`: `pages` while the framebuffer is logged, and while it is not, a
    /// compare that stops once logging would have won and copies the rest whole
    /// (`DisplayMethod`, chosen sync by sync by `AdaptivePolicy`).
    case adaptive
}
