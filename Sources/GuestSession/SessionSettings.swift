import Display
import Input
import LiveMigration
import PNGOutput
import Tracking

/// What a run asks of its guest beyond the machine config, checked already (the CLI turns
/// `ringside run` and `ringside receive` options into this).
public struct SessionSettings: Sendable {
    public var mode: TrackingMode
    /// Dirty ring entries per vCPU, when the mode uses the ring.
    public var ringEntries: Int
    public var tile: TileSize
    /// PNG files: the directory and which frames; nil for none.
    public var png: PNGSettings?
    /// The split view: the screen beside the pages the migration list holds (window or PNG files).
    public var showSplit = false
    /// Stop each vCPU after its frame N (a booted guest's; a received one counts on from the source's).
    public var frames: Int?
    /// Stop this many seconds after `GuestSession.start()`.
    public var seconds: Double?
    /// Display refreshes per second: with the guest's pacing, the sync loop's rate.
    public var refreshHz: Double = 60
    /// `SessionEvents.intervalStats` once a second, and the latencies in the summary.
    public var stats = false
    /// End a migration round this often, reported through `SessionEvents.migrationRound`.
    public var migrationRoundsMS: Int?
    /// Input to play by guest frame (`SessionEvents.warning` names events it will never reach).
    public var inputScript: InputScript?
    /// Report each input event on its way to the guest (`SessionEvents.inputLogged`).
    public var logInput = false
    /// Migrate the guest out: where, how and when.
    public var migrateOut: OutgoingMigration?

    public init(mode: TrackingMode, ringEntries: Int, tile: TileSize) {
        self.mode = mode
        self.ringEntries = ringEntries
        self.tile = tile
    }

    /// Per-frame PNG files must show exactly one guest frame: the machine runs in lockstep and
    /// each frame is harvested, copied and written while every vCPU is held at its doorbell.
    var perFrameDump: Bool { png.map { $0.policy != .lastFrameOnly } ?? false }

    /// Whether the session subscribes a migration list of its own (for rounds or the split view).
    var subscribesMigrationList: Bool { migrationRoundsMS != nil || showSplit }
}

/// `--png DIR` and which frames go into files.
public struct PNGSettings: Sendable {
    public var directory: String
    public var policy: PNGDumper.Policy
    public init(directory: String, policy: PNGDumper.Policy) {
        self.directory = directory
        self.policy = policy
    }
}

/// An outgoing live migration: to `host:port`, after `after` seconds (and again that long
/// after each failed attempt), or when vCPU 0 completes frame `atFrame`; or at once on
/// `GuestSession.requestMigrationNow()`.
public struct OutgoingMigration: Sendable {
    public var host: String
    public var port: Int
    public var options: MigrationOptions
    public var attempts: Int
    public var after: Double?
    public var atFrame: Int?

    public init(host: String, port: Int, options: MigrationOptions, attempts: Int, after: Double?, atFrame: Int?) {
        self.host = host
        self.port = port
        self.options = options
        self.attempts = attempts
        self.after = after
        self.atFrame = atFrame
    }

    /// `HOST:PORT`, with an IPv6 host in brackets.
    public var address: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
