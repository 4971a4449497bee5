import KVM
import Synchronization
internal import CGuestABI

/// The cursor plane as the guest published it (`struct rs_cursor`, ABI version 4): the
/// shape's size, hot spot and ARGB8888 pixels (straight alpha), the hot spot's position and
/// whether it is shown. Checked: size 1...64, hot spot inside.
public struct GuestCursor: Equatable, Sendable {
    public var visible: Bool
    public var x: Int32, y: Int32
    public var width: Int, height: Int, hotX: Int, hotY: Int
    public var shapeSerial: UInt32
    /// width x height pixels, row-major.
    public var pixels: [UInt32]
}

/// The VMM's side of the cursor plane: formats its page at boot, and reads what the guest
/// published (see the sequence count in `ringside_abi.h`). The plane is guest RAM, so a
/// migration or a snapshot carries it like any page; nothing of it lives only here.
public final class GuestCursorPlane: Sendable {
    public static let maxSize = Int(RS_CURSOR_MAX_SIZE)
    static func offset(_ key: PartialKeyPath<rs_cursor>) -> Int { MemoryLayout<rs_cursor>.offset(of: key)! }

    private let ram: GuestMemory
    private let enabled: Bool
    /// The last shape read: its pixels are copied again only when the guest's serial changes.
    private let lastShape = Mutex<(serial: UInt32, width: Int, height: Int, hotX: Int, hotY: Int, pixels: [UInt32])?>(nil)

    /// Whether the plane is in use is the page's magic, which the VMM writes only for a guest
    /// of version 4 or later (older ones find zeros, below the image where they never write):
    /// so a migrated or restored guest, whose page arrives with its RAM, keeps its plane.
    init(ram: GuestMemory) {
        self.ram = ram
        enabled = ram.size >= Int(GuestLayout.cursorPixels) + Self.maxSize * Self.maxSize * 4
    }

    /// Writes the page's header for a guest of version 4 or later. Boot only.
    static func format(with writer: GuestWriter) {
        writer.store(UInt32(RS_CURSOR_MAGIC), at: GuestLayout.cursor + UInt64(offset(\rs_cursor.magic)))
        writer.store(UInt32(RS_CURSOR_MAX_SIZE), at: GuestLayout.cursor + UInt64(offset(\rs_cursor.max_size)))
        writer.store(GuestLayout.cursorPixels, at: GuestLayout.cursor + UInt64(offset(\rs_cursor.pixels_gpa)))
    }

    /// The cursor as the guest last published it, or nil: a guest of an older version, a
    /// guest that never set a shape, a shape out of bounds, or a write in progress on every
    /// one of a few tries (the next sync reads again). Any thread.
    public func read() -> GuestCursor? {
        guard enabled else { return nil }
        for _ in 0..<4 {
            if let c = readOnce() { return c.width == 0 ? nil : c }
        }
        return nil
    }

    private func u32(_ key: PartialKeyPath<rs_cursor>) -> UInt32 {
        // SAFETY: inside RAM (`enabled` checked its size); a racing guest store only changes the value (the sequence count catches it).
        ram.pointer(at: Int(GuestLayout.cursor) + Self.offset(key)).loadUnaligned(as: UInt32.self)
    }

    /// One try: nil while the guest is writing; a zero-width cursor when it has no shape yet.
    private func readOnce() -> GuestCursor? {
        let seqOffset = Int(GuestLayout.cursor) + Self.offset(\rs_cursor.seq)
        let s0 = ram.loadAcquire(at: seqOffset)
        guard s0 & 1 == 0, u32(\rs_cursor.magic) == RS_CURSOR_MAGIC else { return nil }
        var c = GuestCursor(visible: u32(\rs_cursor.flags) & RS_CURSOR_VISIBLE != 0,
                            x: Int32(bitPattern: u32(\rs_cursor.x)), y: Int32(bitPattern: u32(\rs_cursor.y)),
                            width: Int(u32(\rs_cursor.width)), height: Int(u32(\rs_cursor.height)),
                            hotX: Int(u32(\rs_cursor.hot_x)), hotY: Int(u32(\rs_cursor.hot_y)),
                            shapeSerial: u32(\rs_cursor.shape_serial), pixels: [])
        let valid = (1...Self.maxSize).contains(c.width) && (1...Self.maxSize).contains(c.height) && c.hotX < c.width && c.hotY < c.height
        if valid { c.pixels = shapePixels(c) }
        atomicMemoryFence(ordering: .acquiring)
        guard ram.loadAcquire(at: seqOffset) == s0 else { return nil }
        if !valid { c.width = 0 }
        // Cached only once the sequence count says the pixels were not torn.
        if valid { lastShape.withLock { $0 = (c.shapeSerial, c.width, c.height, c.hotX, c.hotY, c.pixels) } }
        return c
    }

    /// The shape's pixels: the cached copy when the serial and geometry are the ones cached.
    private func shapePixels(_ c: GuestCursor) -> [UInt32] {
        lastShape.withLock { last in
            if let l = last, l.serial == c.shapeSerial, l.width == c.width, l.height == c.height, l.hotX == c.hotX, l.hotY == c.hotY {
                return l.pixels
            }
            var pixels = [UInt32](repeating: 0, count: c.width * c.height)
            let base = ram.pointer(at: Int(GuestLayout.cursorPixels))
            for y in 0..<c.height {
                for x in 0..<c.width {
                    // SAFETY: x, y < 64: inside the 16 KiB pixel area, which lies inside RAM (`enabled`).
                    pixels[y * c.width + x] = UInt32(littleEndian: base.loadUnaligned(fromByteOffset: (y * Self.maxSize + x) * 4, as: UInt32.self))
                }
            }
            return pixels
        }
    }
}
