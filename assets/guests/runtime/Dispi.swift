// Mode setting through the Bochs VBE "DISPI" registers (README.md, "Mode setting"): the
// sequence Linux's bochs driver uses, and the boot info the VMM rewrites on success.

@_extern(c, "rs_inl") func rs_inl(_ port: UInt16) -> UInt32
@_extern(c, "rs_outw") func rs_outw(_ port: UInt16, _ value: UInt16)
@_extern(c, "rs_dispi_load_acquire") func rs_dispi_load_acquire(_ p: UnsafePointer<UInt32>) -> UInt32
@_extern(c, "rs_dispi_store_release") func rs_dispi_store_release(_ p: UnsafeMutablePointer<UInt32>, _ v: UInt32)

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

/// Follows the host's window (RS_INPUT_DISPLAY_SIZE events): announces the flag, then each
/// frame consumes the input queue and answers the newest size with a mode set. Only for a
/// guest that reads nothing else from the queue (it consumes every event).
struct DisplaySizeFollower {
    let queue: UnsafeMutableRawPointer

    init(_ boot: BootInfo) {
        queue = UnsafeMutableRawPointer(bitPattern: UInt(boot.inputQueueAddress))!
        let flags = (queue + 8).assumingMemoryBound(to: UInt32.self)
        rs_dispi_store_release(flags, rs_dispi_load_acquire(flags) | UInt32(RS_GUEST_FOLLOWS_DISPLAY_SIZE))
    }

    /// Consumes every event delivered so far; sets the newest display size asked for, if any.
    func poll() {
        let head = rs_dispi_load_acquire((queue + 64).assumingMemoryBound(to: UInt32.self))
        let tailPointer = (queue + 128).assumingMemoryBound(to: UInt32.self)
        var tail = tailPointer.pointee
        var width: UInt32 = 0, height: UInt32 = 0
        while tail != head {
            let e = queue + 192 + Int(tail % RS_INPUT_QUEUE_EVENTS) * 16
            if UInt32(e.load(as: UInt16.self)) == RS_INPUT_DISPLAY_SIZE {
                width = UInt32(bitPattern: e.load(fromByteOffset: 8, as: Int32.self))
                height = UInt32(bitPattern: e.load(fromByteOffset: 12, as: Int32.self))
            }
            tail &+= 1
        }
        rs_dispi_store_release(tailPointer, tail)
        if width != 0 || height != 0 { _ = Dispi.setMode(width, height) }
    }
}
