import Machine
import MigrationWire
import Tracking

extension MigrationConfig {
    /// What the source sends: the destination builds its machine around the same image file,
    /// in the mode the guest has now and with a framebuffer slot of the same size.
    init(source session: TrackingSession, image: GuestImage, bytes: [UInt8], verify: Bool) {
        let cfg = session.machine.config
        let mode = session.machine.displayMode.mode
        let ring: UInt32 = { if case .ring(let n, _) = session.plan.logging { return UInt32(n) }; return 0 }()
        let tile = session.display.grid.tile
        self.init(imageName: image.name, image: bytes, imageDigest: bytes.withUnsafeBytes { PageDigest.of($0) }, arguments: cfg.arguments,
                  ramBytes: cfg.ramBytes, cpus: UInt32(cfg.cpus), width: UInt32(mode.width), height: UInt32(mode.height),
                  pitch: UInt32(mode.pitch), guestHz: cfg.guestHz, tracking: session.plan.mode.rawValue,
                  ringEntries: ring, tileWidth: UInt32(tile.width), tileHeight: UInt32(tile.height), verify: verify)
        maxWidth = UInt32(cfg.maxModeSize.width)
        maxHeight = UInt32(cfg.maxModeSize.height)
    }

    /// The destination's machine config for this stream: the source's image, arguments, RAM,
    /// vCPUs, mode and pacing, and its largest mode. Refused when the largest mode is out of
    /// range or the RAM is over `memoryLimit`. Frame limit, lockstep and the vCPU count's
    /// host limit are the caller's (`MachineConfig.validate`).
    public func machineConfig(image: GuestImage, memoryLimit: UInt64? = nil) throws(IncomingConfigError) -> MachineConfig {
        var c = MachineConfig(image: image)
        c.arguments = arguments
        c.ramBytes = ramBytes
        c.cpus = Int(cpus)
        c.width = Int(width)
        c.height = Int(height)
        c.pitch = UInt64(pitch) == UInt64(width) * 4 ? nil : Int(pitch) // a u32 width * 4 can overflow
        c.guestHz = guestHz
        if maxWidth > 0 && maxHeight > 0 {
            guard maxWidth <= 7680, maxHeight <= 4320 else {
                throw IncomingConfigError("the source's largest mode \(maxWidth)x\(maxHeight) is out of range (at most 7680x4320)")
            }
            c.maxMode = (max(Int(maxWidth), c.width), max(Int(maxHeight), c.height))
        }
        if let limit = memoryLimit, c.ramBytes > limit {
            throw IncomingConfigError("the guest has \(c.ramBytes >> 20) MiB of RAM; this destination takes at most \(limit >> 20) MiB (--memory-limit)")
        }
        return c
    }
}

/// A migration config this destination will not build; `description` is the user's line.
public struct IncomingConfigError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
