// The cursor plane (ABI version 4, README.md "Cursor plane"): the pointer as a sprite the host
// draws over the framebuffer, so moving it writes no framebuffer page. Only vCPU 0 writes it.
// Each change is published under the header's sequence count: odd while writing, even after
// (a release store), so the VMM never uses a half-written cursor.

struct CursorPlane {
    /// The header (`struct rs_cursor`) and the 64x64 pixel area, or nil: no plane (a VMM of an
    /// older ABI, or a block without cursor_gpa). Then draw your own. Every vCPU sees whether
    /// there is one; only vCPU 0 (`writes`) changes it.
    let header: UnsafeMutablePointer<rs_cursor>?
    let pixels: UnsafeMutablePointer<UInt32>?
    let writes: Bool
    static let maxSize = Int(RS_CURSOR_MAX_SIZE)

    init(_ g: Guest) {
        let address = g.boot.version >= 4 ? g.boot.cursorAddress : 0
        writes = g.cpu == 0
        guard address != 0, address % 4096 == 0, address < RS_IMAGE_BASE,
              let h = UnsafeMutablePointer<rs_cursor>(bitPattern: UInt(address)),
              h.pointee.magic == RS_CURSOR_MAGIC, h.pointee.max_size >= RS_CURSOR_MAX_SIZE,
              h.pointee.pixels_gpa != 0, h.pointee.pixels_gpa < RS_IMAGE_BASE,
              let p = UnsafeMutablePointer<UInt32>(bitPattern: UInt(h.pointee.pixels_gpa)) else {
            header = nil
            pixels = nil
            return
        }
        header = h
        pixels = p
    }

    var available: Bool { header != nil }

    /// Runs `body` between the two halves of the sequence count.
    @inline(__always) func publish(_ body: (UnsafeMutablePointer<rs_cursor>) -> Void) {
        guard writes, let h = header else { return }
        let seq = withUnsafeMutablePointer(to: &h.pointee.seq) { $0 }
        let s = rs_load_acquire_u32(seq)
        rs_store_release_u32(seq, s | 1)
        body(h)
        rs_store_release_u32(seq, (s | 1) &+ 1)
    }

    /// A new shape: `argb` holds width x height pixels (0xAARRGGBB, straight alpha), row-major.
    func setShape(_ argb: UnsafePointer<UInt32>, width: Int, height: Int, hotX: Int, hotY: Int) {
        guard writes, let px = pixels, width >= 1, height >= 1, width <= Self.maxSize, height <= Self.maxSize else { return }
        publish { h in
            for y in 0..<height {
                for x in 0..<width { px[y * Self.maxSize + x] = argb[y * width + x] }
            }
            h.pointee.width = UInt32(width)
            h.pointee.height = UInt32(height)
            h.pointee.hot_x = UInt32(hotX)
            h.pointee.hot_y = UInt32(hotY)
            h.pointee.shape_serial &+= 1
        }
    }

    /// Shows the hot spot at (x, y), or hides the cursor.
    func move(_ x: Int, _ y: Int, visible: Bool = true) {
        publish { h in
            h.pointee.x = Int32(truncatingIfNeeded: x)
            h.pointee.y = Int32(truncatingIfNeeded: y)
            h.pointee.flags = visible ? RS_CURSOR_VISIBLE : 0
        }
    }
}
