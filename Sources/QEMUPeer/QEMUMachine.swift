import Machine

/// One guest under QEMU, described the way `ringside run` describes it (image, arguments,
/// geometry, pacing, frames, RAM), plus QEMU's own knobs the benchmark varies.
public struct QEMUMachine: Sendable, Equatable {
    /// How QEMU finds the pages the guest wrote (for its VGA refresh and for migration).
    public enum DirtyTracking: Sendable, Equatable {
        /// KVM's dirty ring (`-accel kvm,dirty-ring-size=N`), QEMU's best documented choice.
        case ring(entries: Int)
        /// The dirty bitmap (`KVM_GET_DIRTY_LOG`), QEMU's default without `dirty-ring-size`.
        case bitmap
    }

    /// Where QEMU's own VNC server listens.
    public struct VNC: Sendable, Equatable {
        public var host: String
        /// A TCP port of 5900 or more (QEMU numbers displays from 5900), or 0 for the first
        /// free one from 5900 up (read it back with `QEMUInstance.vncPort()`).
        public var port: Int
        /// QEMU's `lossy=on`: JPEG (Tight) and other lossy encodings when a client asks.
        public var lossy: Bool

        public init(host: String = "127.0.0.1", port: Int, lossy: Bool = false) {
            self.host = host
            self.port = port
            self.lossy = lossy
        }
    }

    /// A file QEMU loads after the image as a multiboot module, which the stub places and
    /// lists in the module table as `ringside run --module PATH=NAME` does.
    public struct Module: Sendable, Equatable {
        public var path: String
        public var name: String
        public init(path: String, name: String) {
            self.path = path
            self.name = name
        }
    }

    public var imagePath: String
    public var imageName: String
    /// The guest ABI version the stub boots the image as: its ELF note's, else 1 (or
    /// `--guest-abi`), exactly as `ringside run` does (`MachineConfig.abiVersion`).
    public var abiVersion: UInt32
    /// Boot modules, in order (ABI version 3 or later).
    public var modules: [Module] = []
    public var arguments = ""
    /// vCPUs: 1 or 2 (`-smp`; the stub starts the second itself, see its README).
    public var cpus = 1
    public var width = 1280
    public var height = 800
    /// Doorbells paced to a timer at this rate; 0 lets the guest run free.
    public var guestHz: Double = 60
    /// Hold the vCPU for good at its N-th doorbell (the framebuffer then holds frame N).
    public var frames: Int?
    public var ramBytes: UInt64 = 256 << 20
    public var vnc: VNC?
    public var tracking: DirtyTracking = .ring(entries: 4096)
    /// `-incoming tcp:HOST:PORT`: wait for a migration instead of booting.
    public var incoming: (host: String, port: Int)? {
        get { incomingAddress.map { ($0.host, $0.port) } }
        set { incomingAddress = newValue.map { Address(host: $0.host, port: $0.port) } }
    }
    private var incomingAddress: Address?

    struct Address: Sendable, Equatable {
        var host: String
        var port: Int
    }

    /// An image file booted as guest ABI version `abiVersion` (1: an image without the note).
    public init(imagePath: String, imageName: String, abiVersion: UInt32 = GuestABI.undeclared) {
        self.imagePath = imagePath
        self.imageName = imageName
        self.abiVersion = abiVersion
    }

    /// The guest `ringside run` would boot from `config`: its image, the version it boots as,
    /// its modules, arguments, geometry, pacing, frame limit and RAM. (Checks that belong to
    /// Ringside's own machine, such as vCPUs and the pitch, are `MachineConfig.validate`'s.)
    public init(config: MachineConfig) {
        self.init(imagePath: config.image.path, imageName: config.image.name, abiVersion: config.abiVersion)
        modules = config.modules.map { Module(path: $0.path, name: $0.name) }
        arguments = config.arguments
        cpus = config.cpus
        width = config.width
        height = config.height
        guestHz = config.guestHz
        frames = config.frameLimit
        ramBytes = config.ramBytes
    }

    /// The PIT's input clock; the stub's timer runs at `pitHz / divisor`.
    public static let pitHz = 1_193_182.0
    /// The pacing rates the PIT can make (divisor 65535 down to 12).
    public static let guestHzRange = 18.3...100_000.0

    /// The PIT divisor for `guestHz` (0 when free-running).
    public var pitDivisor: Int {
        guard guestHz > 0 else { return 0 }
        return max(1, min(65535, Int((Self.pitHz / guestHz).rounded())))
    }

    /// The rate the stub really paces at (the PIT divides a 1.193182 MHz clock).
    public var effectiveGuestHz: Double { pitDivisor == 0 ? 0 : Self.pitHz / Double(pitDivisor) }

    /// QEMU's VGA memory: a power of two of MiB that holds the mode, at least QEMU's 16.
    public var videoMemoryMiB: Int {
        let bytes = width * 4 * height
        var mib = 16
        while mib << 20 < bytes { mib *= 2 }
        return mib
    }

    /// The most vCPUs the stub boots.
    public static let maxCPUs = 2

    /// Checks what QEMU and the stub can honour; one line for the first thing that is not.
    public func validate() throws(QEMUError) {
        guard (1...Self.maxCPUs).contains(cpus) else {
            throw .unsupported("\(cpus) vCPUs: the boot stub for QEMU starts 1 or 2 (assets/peers/qemu/README.md)")
        }
        guard (64...7680).contains(width), (64...4320).contains(height) else {
            throw .unsupported("resolution \(width)x\(height) is out of range: width must be 64...7680 and height 64...4320")
        }
        if guestHz != 0, !Self.guestHzRange.contains(guestHz) {
            throw .unsupported("--guest-hz \(guestHz) cannot be paced under QEMU: its PIT makes \(Self.guestHzRange.lowerBound)...\(Int(Self.guestHzRange.upperBound)) ticks per second (or 0 to free-run)")
        }
        guard ramBytes >= 8 << 20, ramBytes <= 32 << 30, ramBytes % (2 << 20) == 0 else {
            throw .unsupported("guest RAM \(ramBytes) bytes is out of range: use 8M...32G in whole 2M steps")
        }
        if let frames, frames < 1 { throw .unsupported("--frames \(frames) is out of range: use 1 or more") }
        if let vnc, vnc.port != 0, !(5900...65535).contains(vnc.port) {
            throw .unsupported("QEMU's VNC server listens on port 5900 + N: use a port of 5900...65535 (or 0 for the first free one)")
        }
        guard (GuestABI.oldest...GuestABI.newest).contains(abiVersion) else {
            throw .unsupported("guest ABI version \(abiVersion) is not one the stub boots (\(GuestABI.oldest) to \(GuestABI.newest))")
        }
        if !modules.isEmpty && abiVersion < 3 {
            throw .unsupported("boot modules need guest ABI version 3 or later, but \(imageName) boots as version \(abiVersion)")
        }
        if modules.count > BootModule.maxCount { throw .unsupported("\(modules.count) boot modules given; the limit is \(BootModule.maxCount)") }
        if let bad = modules.first(where: { $0.name.isEmpty || $0.name.utf8.count > BootModule.maxNameBytes || $0.name.utf8.contains(0) }) {
            throw .unsupported("boot module name '\(bad.name)' must be 1...\(BootModule.maxNameBytes) bytes with no NUL")
        }
        if case .ring(let entries) = tracking, entries < 1024 || entries > 65536 || entries & (entries - 1) != 0 {
            throw .unsupported("QEMU's dirty ring size must be a power of two of 1024...65536 entries (\(entries))")
        }
    }
}
