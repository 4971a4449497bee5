// Mode setting through the Bochs VBE "DISPI" registers (README.md, "Mode setting"): the
// sequence Linux's bochs driver uses, and the boot info the VMM rewrites on success.

@_extern(c, "rs_inl") func rs_inl(_ port: UInt16) -> UInt32
@_extern(c, "rs_outw") func rs_outw(_ port: UInt16, _ value: UInt16)

enum Dispi {
    static let indexPort = UInt16(RS_PORT_DISPI_INDEX)
    static let dataPort = UInt16(RS_PORT_DISPI_DATA)

    /// Writes register `index` (a dword write: values above 65535 reach the VMM whole).
    static func write(_ index: Int32, _ value: UInt32) {
        rs_outw(indexPort, UInt16(truncatingIfNeeded: index))
        rs_outl(dataPort, value)
    }

    static func read(_ index: Int32) -> UInt32 {
        rs_outw(indexPort, UInt16(truncatingIfNeeded: index))
        return rs_inl(dataPort)
    }

    /// Asks for `width` x `height` at `bpp` bits per pixel; true if the mode is now in force
    /// (the registers read it back). The boot info then describes it.
    static func setMode(_ width: UInt32, _ height: UInt32, bpp: UInt32 = 32) -> Bool {
        write(RS_DISPI_INDEX_ENABLE, UInt32(RS_DISPI_DISABLED))
        write(RS_DISPI_INDEX_BPP, bpp)
        write(RS_DISPI_INDEX_XRES, width)
        write(RS_DISPI_INDEX_YRES, height)
        write(RS_DISPI_INDEX_VIRT_WIDTH, width)
        write(RS_DISPI_INDEX_X_OFFSET, 0)
        write(RS_DISPI_INDEX_Y_OFFSET, 0)
        write(RS_DISPI_INDEX_ENABLE, UInt32(RS_DISPI_ENABLED | RS_DISPI_LFB_ENABLED))
        return read(RS_DISPI_INDEX_XRES) == width && read(RS_DISPI_INDEX_YRES) == height && read(RS_DISPI_INDEX_BPP) == bpp
    }
}
