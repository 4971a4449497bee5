internal import CGuestABI

/// A framebuffer mode: what the guest draws and every display sink shows. XRGB8888 always.
public struct DisplayMode: Equatable, Hashable, Sendable, CustomStringConvertible {
    public var width: Int
    public var height: Int
    /// Bytes per row, at least `width * 4`.
    public var pitch: Int

    public init(width: Int, height: Int, pitch: Int? = nil) {
        self.width = width
        self.height = height
        self.pitch = pitch ?? width * 4
    }

    /// Bytes of one frame: `pitch * height`.
    public var byteCount: Int { pitch * height }

    public var description: String { pitch == width * 4 ? "\(width)x\(height)" : "\(width)x\(height) pitch \(pitch)" }

    public static let minWidth = Int(RS_MODE_MIN_WIDTH)
    public static let minHeight = Int(RS_MODE_MIN_HEIGHT)
    public static let maxWidth = Int(RS_MODE_MAX_WIDTH)
    public static let maxHeight = Int(RS_MODE_MAX_HEIGHT)
}

/// The machine's display device: the DISPI registers, and a count of mode sets so a consumer
/// notices every one (even a set back to the mode it last saw).
public struct DisplayModeState: Sendable {
    var device: DispiDevice
    var serial = 0
    /// Host monotonic ns of the last mode set's ENABLE write (0 = none yet).
    var setAtNanos: UInt64 = 0

    /// What consumers read.
    public struct Snapshot: Equatable, Sendable {
        public var mode: DisplayMode
        /// Mode sets since boot.
        public var serial: Int
        /// Host monotonic ns (DispatchTime) of the last mode set's ENABLE write; 0 if none.
        public var setAtNanos: UInt64
    }

    var snapshot: Snapshot { Snapshot(mode: device.mode, serial: serial, setAtNanos: setAtNanos) }
}
