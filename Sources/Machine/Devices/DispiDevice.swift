internal import CGuestABI

/// The Bochs VBE "DISPI" registers (index port 0x1CE, data port 0x1CF), as QEMU's standard
/// VGA and Linux's bochs DRM driver use them, reduced to what a linear XRGB8888 framebuffer
/// needs. A function over data: port writes and reads in, the mode to set (or why not) out,
/// so it is tested without a VM. The machine applies what it returns.
///
/// XRES, YRES, BPP and VIRT_WIDTH latch; writing ENABLE with `ENABLED` asks for the latched
/// mode. A refused mode leaves the one in force, and the latched registers go back to it, so
/// a guest reads back the mode it really has.
public struct DispiDevice: Sendable {
    /// What a port access did.
    public enum Effect: Equatable, Sendable {
        case none
        /// The guest set a new mode: it is in force from now on.
        case modeSet(DisplayMode)
        /// The guest asked for a mode the device refuses; the old one stays. The text says why.
        case refused(String)
    }

    /// The mode in force.
    public private(set) var mode: DisplayMode
    /// The largest width and height a mode may have, and the framebuffer slot's bytes.
    public let maxWidth: Int, maxHeight: Int, slotBytes: Int

    private var index: UInt16 = 0
    private var xres: UInt32, yres: UInt32, bpp: UInt32 = 32, virtWidth: UInt32
    private var xOffset: UInt32 = 0, yOffset: UInt32 = 0
    /// The guest boots in a mode (the VMM's --width/--height), as if it had enabled it.
    private var enable = UInt32(RS_DISPI_ENABLED | RS_DISPI_LFB_ENABLED)

    public init(mode: DisplayMode, maxWidth: Int, maxHeight: Int, slotBytes: Int) {
        self.mode = mode
        self.maxWidth = maxWidth
        self.maxHeight = maxHeight
        self.slotBytes = slotBytes
        xres = UInt32(mode.width); yres = UInt32(mode.height); virtWidth = UInt32(mode.pitch / 4)
    }

    public static let indexPort = UInt16(RS_PORT_DISPI_INDEX)
    public static let dataPort = UInt16(RS_PORT_DISPI_DATA)

    /// `out` to the index port: selects a register.
    public mutating func writeIndex(_ value: UInt32) { index = UInt16(truncatingIfNeeded: value) }

    /// `in` from the index port.
    public var readIndex: UInt32 { UInt32(index) }

    /// `out` to the data port: writes the selected register. Values are taken whole (a dword
    /// `out` can say 99999, which is then refused rather than truncated to 16 bits).
    public mutating func writeData(_ value: UInt32) -> Effect {
        switch Int32(index) {
        case RS_DISPI_INDEX_XRES: xres = value; virtWidth = value
        case RS_DISPI_INDEX_YRES: yres = value
        case RS_DISPI_INDEX_BPP: bpp = value
        case RS_DISPI_INDEX_VIRT_WIDTH: virtWidth = value
        case RS_DISPI_INDEX_X_OFFSET: xOffset = value
        case RS_DISPI_INDEX_Y_OFFSET: yOffset = value
        case RS_DISPI_INDEX_ENABLE:
            let keep = UInt32(RS_DISPI_ENABLED | RS_DISPI_GETCAPS | RS_DISPI_8BIT_DAC | RS_DISPI_LFB_ENABLED | RS_DISPI_NOCLEARMEM)
            enable = value & keep
            if value & UInt32(RS_DISPI_ENABLED) != 0 { return applyLatched() }
        default: break // ID (version negotiation), BANK and the read-only registers: nothing to change
        }
        return .none
    }

    /// `in` from the data port: the selected register.
    public var readData: UInt32 {
        let caps = enable & UInt32(RS_DISPI_GETCAPS) != 0
        switch Int32(index) {
        case RS_DISPI_INDEX_ID: return UInt32(RS_DISPI_ID5)
        case RS_DISPI_INDEX_XRES: return caps ? UInt32(maxWidth) : xres
        case RS_DISPI_INDEX_YRES: return caps ? UInt32(maxHeight) : yres
        case RS_DISPI_INDEX_BPP: return caps ? 32 : bpp
        case RS_DISPI_INDEX_ENABLE: return enable
        case RS_DISPI_INDEX_VIRT_WIDTH: return virtWidth
        case RS_DISPI_INDEX_VIRT_HEIGHT: return UInt32(min(slotBytes / max(mode.pitch, 1), 0xFFFF))
        case RS_DISPI_INDEX_X_OFFSET: return xOffset
        case RS_DISPI_INDEX_Y_OFFSET: return yOffset
        case RS_DISPI_INDEX_VIDEO_MEMORY_64K: return UInt32(slotBytes >> 16)
        default: return 0 // BANK and unknown registers
        }
    }

    /// Why the latched registers are not a mode this device can show, or nil if they are.
    public func problem(width: UInt32, height: UInt32, bpp: UInt32, virtWidth: UInt32, xOffset: UInt32, yOffset: UInt32) -> String? {
        let mode = "\(width)x\(height) at \(bpp) bpp"
        if bpp != 32 { return "mode \(mode): only 32 bits per pixel (XRGB8888) is supported" }
        if width < UInt32(DisplayMode.minWidth) || height < UInt32(DisplayMode.minHeight) || width > UInt32(maxWidth) || height > UInt32(maxHeight) {
            return "mode \(mode): the size must be \(DisplayMode.minWidth)x\(DisplayMode.minHeight) up to \(maxWidth)x\(maxHeight) (the --max-framebuffer)"
        }
        let rowPixels = max(virtWidth, width)
        if rowPixels > UInt32(maxWidth) { return "mode \(mode): VIRT_WIDTH \(virtWidth) is wider than the largest mode (\(maxWidth))" }
        if xOffset != 0 || yOffset != 0 { return "mode \(mode): panning (X_OFFSET \(xOffset), Y_OFFSET \(yOffset)) is not supported; use offsets 0" }
        if Int(rowPixels) * 4 * Int(height) > slotBytes { return "mode \(mode): does not fit the \(slotBytes >> 20) MiB framebuffer slot" }
        return nil
    }

    private mutating func applyLatched() -> Effect {
        if let why = problem(width: xres, height: yres, bpp: bpp, virtWidth: virtWidth, xOffset: xOffset, yOffset: yOffset) {
            xres = UInt32(mode.width); yres = UInt32(mode.height); bpp = 32; virtWidth = UInt32(mode.pitch / 4)
            xOffset = 0; yOffset = 0
            return .refused(why)
        }
        let requested = DisplayMode(width: Int(xres), height: Int(yres), pitch: Int(max(virtWidth, xres)) * 4)
        virtWidth = UInt32(requested.pitch / 4)
        guard requested != mode else { return .none }
        mode = requested
        return .modeSet(requested)
    }
}
