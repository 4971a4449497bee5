import Foundation

/// How the VM's memory is dirty-logged, decided by the tracking layer before boot.
public enum DirtyLogging: Equatable, Sendable {
    /// No logging (compare and full modes).
    case none
    /// Per-vCPU dirty rings of `entries` entries (`KVM_CAP_DIRTY_LOG_RING[_ACQ_REL]`).
    case ring(entries: Int, acquireRelease: Bool)
    /// `KVM_GET_DIRTY_LOG`, with `KVM_CLEAR_DIRTY_LOG` when `manualProtect` flags are non-zero.
    case bitmap(manualProtect: Int)
}

/// Everything needed to boot one guest.
public struct MachineConfig: Sendable {
    public var image: GuestImage
    public var arguments: String = ""
    public var ramBytes: UInt64 = 256 << 20
    public var width = 1280
    public var height = 800
    /// Bytes per framebuffer row; `nil` means `width * 4`.
    public var pitch: Int?
    public var cpus = 1
    /// Doorbell pacing in ticks per second; 0 lets the guest free-run.
    public var guestHz = 60.0
    /// Stop each vCPU after its N-th frame doorbell.
    public var frameLimit: Int?
    public var dirtyLogging: DirtyLogging = .none
    /// Log the RAM slot too (a migration consumer is subscribed).
    public var logRAM = false
    /// Hold each vCPU at its doorbell until every vCPU has finished the same frame, then call
    /// `MachineEvents.allFramesDone` once: the framebuffer then holds exactly that frame.
    public var lockstep = false
    /// The largest mode the guest may set at run time (DISPI): the framebuffer slot is
    /// reserved for it at boot, so a mode set never moves guest memory. `nil`: the initial
    /// mode's size (smaller modes only).
    public var maxMode: (width: Int, height: Int)?
    /// Files loaded into RAM after the image, in order, and listed in the boot info's module
    /// table (`--module`). A migration destination has none: they come with the RAM.
    public var modules: [BootModule] = []
    /// The guest ABI version of an image that declares none in its note (`--guest-abi`):
    /// 1 unless told otherwise (an image built from the version-2 document, before the note).
    public var undeclaredABIVersion = GuestABI.undeclared

    public init(image: GuestImage) { self.image = image }

    /// The guest ABI version the boot info and layout are written for: the image's note, else
    /// `undeclaredABIVersion`.
    public var abiVersion: UInt32 { image.declaredABIVersion ?? undeclaredABIVersion }

    /// Where each module lies in guest RAM, and where the heap (free RAM) starts after them.
    public var modulePlacement: (addresses: [UInt64], heap: UInt64) {
        BootModule.placement(of: modules.map { UInt64($0.bytes.count) }, after: image.end)
    }

    public var framebufferPitch: Int { pitch ?? width * 4 }
    public var framebufferBytes: Int { framebufferPitch * height }
    /// The initial display mode (`width`, `height`, `framebufferPitch`).
    public var initialMode: DisplayMode { DisplayMode(width: width, height: height, pitch: framebufferPitch) }
    /// The largest mode's width and height (`maxMode`, or the initial mode's).
    public var maxModeSize: (width: Int, height: Int) { maxMode ?? (width, height) }
    /// The framebuffer slot's size: the initial frame or the largest mode, whichever is
    /// bigger, rounded up to whole 2 MiB pages.
    public var framebufferSlotBytes: Int {
        let p = Int(GuestLayout.largePage)
        let bytes = max(framebufferBytes, maxModeSize.width * 4 * maxModeSize.height)
        return (bytes + p - 1) / p * p
    }

    public static let widthRange = 64...7680
    public static let heightRange = 64...4320
    /// Guest pacing ticks per second; 0 (free-run) is allowed besides.
    public static let guestHzRange = 1.0...100_000.0

    /// Checks the guest RAM size alone (before an image is loaded against it).
    public static func validate(ramBytes: UInt64) throws(MachineError) {
        guard ramBytes >= GuestLayout.minRAM, ramBytes <= GuestLayout.maxRAM, ramBytes % GuestLayout.largePage == 0 else {
            throw .badMemory("guest memory \(ramBytes) bytes is out of range: use 8M ... 32G in whole 2M steps (e.g. --memory 256M)")
        }
    }

    /// Checks ranges; the first problem as a user-facing error.
    public func validate(maxVCPUs: Int) throws(MachineError) {
        guard Self.widthRange.contains(width), Self.heightRange.contains(height) else {
            throw .badGeometry("resolution \(width)x\(height) is out of range: width must be 64...7680 and height 64...4320")
        }
        if let pitch, pitch < width * 4 || pitch % 4 != 0 || pitch > width * 4 + 65536 {
            throw .badGeometry("pitch \(pitch) is invalid for width \(width): it must be a multiple of 4, at least \(width * 4) bytes")
        }
        if let m = maxMode {
            guard Self.widthRange.contains(m.width), Self.heightRange.contains(m.height) else {
                throw .badGeometry("--max-framebuffer \(m.width)x\(m.height) is out of range: width must be 64...7680 and height 64...4320")
            }
            guard m.width >= width, m.height >= height else {
                throw .badGeometry("--max-framebuffer \(m.width)x\(m.height) is smaller than the initial mode \(width)x\(height): make it at least that")
            }
        }
        try Self.validate(ramBytes: ramBytes)
        let limit = min(maxVCPUs, GuestLayout.maxVCPUs)
        guard cpus >= 1, cpus <= limit else {
            throw .badCPUCount("--cpus \(cpus) is out of range: this host's KVM allows 1...\(limit)")
        }
        if arguments.utf8.count > GuestLayout.maxArgumentBytes {
            throw .badArguments("guest arguments are \(arguments.utf8.count) bytes; the limit is \(GuestLayout.maxArgumentBytes)")
        }
        // Below 1 Hz the pacing period (1e9 / hz nanoseconds) would not fit the UInt64 clock.
        guard guestHz == 0 || Self.guestHzRange.contains(guestHz) else {
            throw .badArguments("--guest-hz \(guestHz) is out of range: use 0 (free-run) or 1...100000")
        }
        if let frameLimit, frameLimit < 1 {
            throw .badArguments("--frames \(frameLimit) must be at least 1")
        }
        do { try image.validate(ramBytes: ramBytes) } catch { throw .image(error) }
        guard (GuestABI.oldest...GuestABI.newest).contains(undeclaredABIVersion) else {
            throw .badArguments("--guest-abi \(undeclaredABIVersion) is out of range: this ringside boots guest ABI versions \(GuestABI.oldest)...\(GuestABI.newest)")
        }
        try validateModules()
    }

    /// Count, names, and that the image and every module fit in RAM.
    func validateModules() throws(MachineError) {
        do { try BootModule.validate(modules) } catch { throw .module(error) }
        if !modules.isEmpty && abiVersion < 3 { throw .module(.imageTooOld(image: image.path, version: abiVersion, declared: image.declaredABIVersion != nil)) }
        let addresses = modulePlacement.addresses
        for (m, gpa) in zip(modules, addresses) where gpa + UInt64(m.bytes.count) > ramBytes {
            throw .module(.doesNotFit(name: m.name, size: UInt64(m.bytes.count), needs: gpa + UInt64(m.bytes.count), ram: ramBytes))
        }
    }
}

/// Parses sizes such as `256M`, `4G`, `1048576` (bytes).
public func parseMemorySize(_ text: String) -> UInt64? {
    let t = text.trimmingCharacters(in: .whitespaces).uppercased()
    guard let last = t.last else { return nil }
    var digits = t
    var shift: UInt64 = 0
    switch last {
    case "K": shift = 10; digits.removeLast()
    case "M": shift = 20; digits.removeLast()
    case "G": shift = 30; digits.removeLast()
    default: break
    }
    if digits.hasSuffix("I") { return nil }
    guard let n = UInt64(digits), n > 0, n <= (UInt64(1) << 40) >> shift else { return nil }
    return n << shift
}
