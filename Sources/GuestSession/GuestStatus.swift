import LiveMigration
import Tracking

/// What `ringside ctl PATH status` shows of a running guest.
public struct GuestStatus: Sendable {
    public enum State: String, Sendable {
        case running, paused, migrating
        /// The run has ended (or is ending): nothing but `status` is answered.
        case stopped
    }
    public var state: State
    public var image: String
    public var imagePath: String
    /// The display mode in force.
    public var width: Int
    public var height: Int
    public var pitch: Int
    public var cpus: Int
    public var ramBytes: UInt64
    /// Frames each vCPU has completed since boot (a received or restored guest counts on).
    public var frames: [Int]
    /// Guest frames per second, per vCPU, over the last second (since the start before then).
    public var framesPerSecond: Double
    /// The tracking mode and, for auto, how the display tracks the framebuffer now.
    public var tracking: String
    public var displayMethod: String
    /// Seconds since this session started the guest here.
    public var uptimeSeconds: Double
    /// The guest's own clock (the counters page's uptime), in seconds.
    public var guestUptimeSeconds: Double
    public var paused: Bool
    /// The outgoing migration, if one was asked for (`--migrate-to` or `ctl migrate`).
    public var migration: MigrationProgress?
    /// The last snapshot written, if any.
    public var lastSnapshot: String?
}

/// An outgoing migration as `status` shows it.
public struct MigrationProgress: Sendable {
    public enum State: String, Sendable {
        /// Not started yet (or between attempts).
        case waiting
        case running
        case migrated
        case failed
        case cancelled
        /// The connection failed after the commit: the guest is stopped here and may run there.
        case outcomeUnknown = "outcome-unknown"
    }
    public var to: String
    public var state: State = .waiting
    /// The attempt in progress.
    public var attempt: Int?
    /// The latest pre-copy round of the attempt in progress: pages, bandwidth, pages left and
    /// the downtime expected for them.
    public var round: MigrationControl.Round?
    /// Why the last attempt failed.
    public var failure: String?
    /// The latest line of its progress.
    public var line: String

    public init(to: String, line: String) {
        self.to = to
        self.line = line
    }
}
