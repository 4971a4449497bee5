import Foundation

/// One measurement of one VMM in `ringside bench --peer qemu`, as the JSON file holds it.
/// `vmm` is "ringside" or "qemu"; the fields a cell does not measure are absent.
public struct PeerRecord: Codable, Sendable, Equatable {
    public var vmm: String
    /// "display" (one VNC client asking continuously), "idle" (no client, no sink),
    /// "speed" (free-running), "migration", or "frame" (frame N compared).
    public var cell: String
    public var guest: String
    public var width: Int
    public var height: Int
    public var guestHz: Double
    /// The VMM's settings, e.g. "dirty ring 4096, qboot, -display none, VNC lossy off".
    public var settings: String
    public var encoding: String?
    public var seconds: Double?
    public var updates: Int?
    public var updatesPerSecond: Double?
    public var bytesPerUpdate: Double?
    public var cpuMsPerUpdate: Double?
    /// Process CPU (utime + stime) per wall second.
    public var cpuSecondsPerSecond: Double?
    public var latencyP50Ms: Double?
    public var latencyP99Ms: Double?
    public var latencySamples: Int?
    /// Frames whose doorbell rang in the window (the last 0.1 s left out).
    public var framesInWindow: Int?
    public var framesNeverSeen: Int?
    /// Updates after which the client's picture was no frame of the guest.
    public var tornUpdates: Int?
    public var client: Bool?
    public var guestFPS: Double?
    public var ramBytes: UInt64?
    public var downtimeBudgetMs: Double?
    /// The VMM's own downtime figure.
    public var reportedDowntimeMs: Double?
    /// From the guest's last frame on the source to its next on the destination, seen by
    /// the host in both processes' counters pages (the same way for both VMMs).
    public var guestVisibleDowntimeMs: Double?
    public var totalSeconds: Double?
    public var bytesSent: Double?
    public var peakRSSBytes: UInt64?
    /// Resident set size at the end of the cell (VmRSS).
    public var rssBytes: UInt64?
    /// "frame" cells: the picture at frame N equals the guest's frame N.
    public var frame: Int?
    public var identical: Bool?
    public var note: String?

    public init(vmm: String, cell: String, guest: String, width: Int, height: Int, guestHz: Double, settings: String) {
        self.vmm = vmm
        self.cell = cell
        self.guest = guest
        self.width = width
        self.height = height
        self.guestHz = guestHz
        self.settings = settings
    }

    /// The records as a JSON array (sorted keys, one file per run).
    public static func json(_ records: [PeerRecord]) -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        return (try? String(decoding: e.encode(records), as: UTF8.self)) ?? "[]"
    }
}
