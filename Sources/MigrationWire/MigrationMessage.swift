/// The messages of Ringside's migration stream (docs/migration.md). This target knows only
/// how they are written and read: nothing about KVM, machines or sockets.
public enum MigrationMessage: Equatable, Sendable {
    /// First message each way: protocol version and capability bits.
    case hello(version: UInt16, capabilities: UInt32)
    /// Source to destination: what to build.
    case config(MigrationConfig)
    /// Destination: the config is acceptable; send the memory.
    case accepted
    /// Pages of one slot: each with its 4096 bytes, or marked zero.
    case pages(slot: UInt32, [PageRecord])
    /// The end of one pre-copy round, with the number of pages it sent.
    case roundEnd(round: UInt32, pages: UInt64)
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
    /// how long the source's vCPUs have been paused, so the destination can report downtime.
    case commit(pausedNanos: UInt64)
    /// Destination: the guest is running here.
    case started
    /// Either side: the migration is abandoned, with the reason in one line.
    case abort(String)

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
    /// Pacing ticks so far (the counters page's tick).
    public var tick: UInt64
    /// Input events the source's VMM still held for the guest (its queue was full), oldest
    /// first: the destination delivers them, so nothing typed during a migration is lost.
    public var waitingInput: [WaitingInputEvent]
    public init(frames: [UInt64], tick: UInt64, waitingInput: [WaitingInputEvent] = []) {
        self.frames = frames
        self.tick = tick
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
