/// The messages of Ringside's migration stream (docs/migration.md). This target knows only
/// how they are written and read: nothing about KVM, machines or sockets.
public enum MigrationMessage: Equatable, Sendable {
    /// First message each way: protocol version and capability bits.
    case hello(version: UInt16, capabilities: UInt32)
    /// Source to destination: what to build.
    case config(MigrationConfig)
    /// Destination: the config is acceptable; send the memory. Carries what saving and loading
    /// every vCPU's state once took here, for the source's estimate of the hand-over.
    case accepted(stateNanos: UInt64)
    /// Pages of one slot: each with its 4096 bytes, or marked zero.
    case pages(slot: UInt32, [PageRecord])
    /// The end of one pre-copy round, with the number of pages it sent.
    case roundEnd(round: UInt32, pages: UInt64)
    /// Destination: a round has arrived and is in guest memory: its pages and the time spent
    /// writing them, from which the source learns this side's load rate.
    case roundAck(round: UInt32, pages: UInt64, loadNanos: UInt64)
    /// One vCPU's complete state (`VCPUState.encode()`), opaque here.
    case vcpuState(index: UInt32, state: [UInt8])
    /// Everything besides memory and vCPUs the destination needs to continue.
    case deviceState(DeviceState)
    /// Verification: a digest of each listed page of a slot (`PageDigest`).
    case digests(slot: UInt32, [PageDigestRecord])
    /// Source: everything has been sent.
    case complete
    /// Destination: it has everything, checked it, and can resume.
    case ready
    /// Source: it has stopped for good; the destination runs the guest from now on. Carries
    /// how long the source's vCPUs have been paused, and how long ago `ready` arrived (so the
    /// destination can tell the round trip from the time the source took), for the downtime.
    case commit(pausedNanos: UInt64, sinceReadyNanos: UInt64)
    /// Destination: the guest is running here; its vCPUs started this long after the commit arrived.
    case started(resumeNanos: UInt64)
    /// Either side: the migration is abandoned, with the reason in one line.
    case abort(String)
    /// Either side, after the hellos, about once a second: this side is alive. Never reaches
    /// the protocol's code: the connection drops it.
    case heartbeat
    /// Source, on a new connection after its connection failed after the commit: what became
    /// of migration `migration` (the config's id)?
    case outcomeQuery(migration: UInt64)
    /// Destination, the answer: the guest runs here (since `resumeNanos` after the commit
    /// arrived), or it does not and never will (what was received is discarded).
    case outcome(started: Bool, resumeNanos: UInt64)
    /// Source: it has the destination's answer to the commit; the destination stops answering
    /// outcome queries.
    case done
    /// Destination, right after its hello, when the source's hello asks for it
    /// (`capabilityBindsNonce`): `nonceBytes` random bytes chosen for this connection.
    case challenge(nonce: [UInt8])
    /// Source, the answer to `challenge`, before anything else: the same bytes, so a recorded
    /// stream replayed into another destination (another nonce) is refused there.
    case binding(nonce: [UInt8])

    public var name: String {
        switch self {
        case .hello: return "hello"
        case .config: return "config"
        case .accepted: return "accepted"
        case .pages: return "pages"
        case .roundEnd: return "round-end"
        case .vcpuState: return "vcpu-state"
        case .deviceState: return "device-state"
        case .digests: return "digests"
        case .complete: return "complete"
        case .ready: return "ready"
        case .commit: return "commit"
        case .started: return "started"
        case .abort: return "abort"
        case .roundAck: return "round-ack"
        case .heartbeat: return "heartbeat"
        case .outcomeQuery: return "outcome-query"
        case .outcome: return "outcome"
        case .done: return "done"
        case .challenge: return "challenge"
        case .binding: return "binding"
        }
    }
}

/// A page of a slot: its index and, unless it is all zeros, its bytes.
public struct PageRecord: Equatable, Sendable {
    public var page: UInt64
    /// Exactly `MigrationWire.pageSize` bytes, or nil for a zero page.
    public var data: [UInt8]?
    public init(page: UInt64, data: [UInt8]?) { self.page = page; self.data = data }
}

public struct PageDigestRecord: Equatable, Sendable {
    public var page: UInt64
    public var digest: UInt64
    public init(page: UInt64, digest: UInt64) { self.page = page; self.digest = digest }
}

/// What the destination must build, and what must match.
public struct MigrationConfig: Equatable, Sendable {
    public var imageName: String
    /// The guest image file, so the destination needs no copy of its own.
    public var image: [UInt8]
    public var imageDigest: UInt64
    public var arguments: String
    public var ramBytes: UInt64
    public var cpus: UInt32
    public var width: UInt32
    public var height: UInt32
    public var pitch: UInt32
    public var guestHz: Double
    /// The source's tracking, ring size and tile size (the destination may choose its own).
    public var tracking: String
    public var ringEntries: UInt32
    public var tileWidth: UInt32
    public var tileHeight: UInt32
    /// Whether the source will send page digests before completing.
    public var verify: Bool
    /// The largest mode the guest may set (the framebuffer slot is sized for it); 0 means
    /// the mode above (`width`, `height`).
    public var maxWidth: UInt32 = 0
    public var maxHeight: UInt32 = 0
    /// A random number naming this migration, so that a source whose connection failed after
    /// its commit can ask the destination, on a new connection, what became of it.
    public var migrationID: UInt64 = 0

    public init(imageName: String, image: [UInt8], imageDigest: UInt64, arguments: String, ramBytes: UInt64, cpus: UInt32,
                width: UInt32, height: UInt32, pitch: UInt32, guestHz: Double, tracking: String, ringEntries: UInt32,
                tileWidth: UInt32, tileHeight: UInt32, verify: Bool) {
        self.imageName = imageName; self.image = image; self.imageDigest = imageDigest; self.arguments = arguments
        self.ramBytes = ramBytes; self.cpus = cpus; self.width = width; self.height = height; self.pitch = pitch
        self.guestHz = guestHz; self.tracking = tracking; self.ringEntries = ringEntries
        self.tileWidth = tileWidth; self.tileHeight = tileHeight; self.verify = verify
    }
}

/// Device state: frame counters per vCPU, the pacing clock and input waiting in the VMM.
public struct DeviceState: Equatable, Sendable {
    /// Doorbells each vCPU has rung (its frame count).
    public var frames: [UInt64]
    /// The guest's clock at the pause (the counters page's uptime_ns; its pacing tick is
    /// derived from it): the destination continues it, so the guest does not see the downtime.
    public var uptimeNanos: UInt64
    /// Input events the source's VMM still held for the guest (its queue was full), oldest
    /// first: the destination delivers them, so nothing typed during a migration is lost.
    public var waitingInput: [WaitingInputEvent]
    /// The display mode in force at the pause (the guest may have set it through DISPI);
    /// 0 x 0 means the config's.
    public var modeWidth: UInt32 = 0, modeHeight: UInt32 = 0, modePitch: UInt32 = 0
    /// Per vCPU, what it printed on the debug console since its last newline (at most
    /// `MigrationWire.maxConsoleBytes` bytes each): the destination's console continues the line.
    public var consoleUnfinished: [[UInt8]] = []
    public init(frames: [UInt64], uptimeNanos: UInt64, waitingInput: [WaitingInputEvent] = []) {
        self.frames = frames
        self.uptimeNanos = uptimeNanos
        self.waitingInput = waitingInput
    }
}

/// One input event as the guest ABI lays it out (`struct rs_input_event`): type, code,
/// value, x, y.
public struct WaitingInputEvent: Equatable, Sendable {
    public var type: UInt16
    public var code: UInt16
    public var value: Int32
    public var x: Int32
    public var y: Int32
    public init(type: UInt16, code: UInt16, value: Int32, x: Int32, y: Int32) {
        self.type = type
        self.code = code
        self.value = value
        self.x = x
        self.y = y
    }
}
