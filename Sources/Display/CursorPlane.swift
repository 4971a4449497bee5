/// The picture of a guest's cursor: at most 64x64 ARGB8888 pixels with straight (not
/// premultiplied) alpha, `0xAARRGGBB`, row-major, and the hot spot: the pixel that sits at
/// the pointer's position. `serial` is the guest's shape count: a new serial is a new shape.
public struct CursorShape: Equatable, Sendable {
    public static let maxSize = 64
    public let width: Int
    public let height: Int
    public let hotX: Int
    public let hotY: Int
    public let pixels: [UInt32]
    public let serial: UInt32

    /// Nil unless the size is 1...64 each way, the hot spot inside, and `pixels` holds
    /// width x height values.
    public init?(width: Int, height: Int, hotX: Int, hotY: Int, pixels: [UInt32], serial: UInt32) {
        guard (1...Self.maxSize).contains(width), (1...Self.maxSize).contains(height),
              (0..<width).contains(hotX), (0..<height).contains(hotY), pixels.count == width * height else { return nil }
        self.width = width
        self.height = height
        self.hotX = hotX
        self.hotY = hotY
        self.pixels = pixels
        self.serial = serial
    }

    @inline(__always)
    public func argb(x: Int, y: Int) -> UInt32 { pixels[y * width + x] }
}

/// The cursor plane: a shape shown with its hot spot at (`x`, `y`) over the framebuffer, or
/// hidden. It is never drawn into guest memory: each sink shows it its own way (the host's
/// cursor, a VNC cursor pseudo-encoding, or composited into the pixels it sends or writes).
public struct CursorState: Equatable, Sendable {
    public var shape: CursorShape
    public var x: Int
    public var y: Int
    public var visible: Bool

    public init(shape: CursorShape, x: Int, y: Int, visible: Bool) {
        self.shape = shape
        self.x = x
        self.y = y
        self.visible = visible
    }

    /// The framebuffer pixels the shape covers (unclipped; empty when hidden).
    public var bounds: TileRect {
        guard visible else { return TileRect(x: x, y: y, width: 0, height: 0) }
        return TileRect(x: x - shape.hotX, y: y - shape.hotY, width: shape.width, height: shape.height)
    }

    /// `argb` over the XRGB pixel `under`, per channel `(s * a + d * (255 - a) + 127) / 255`.
    @inline(__always)
    public static func blend(_ argb: UInt32, over under: UInt32) -> UInt32 {
        let a = argb >> 24
        if a == 255 { return argb & 0x00FF_FFFF }
        if a == 0 { return under }
        var out: UInt32 = 0
        for shift: UInt32 in [0, 8, 16] {
            let s = (argb >> shift) & 0xFF, d = (under >> shift) & 0xFF
            out |= ((s * a + d * (255 - a) + 127) / 255) << shift
        }
        return out | (under & 0xFF00_0000)
    }

    /// Composites the cursor into a region of XRGB8888 pixels whose top-left pixel is the
    /// framebuffer's (`originX`, `originY`), `width` x `height`, rows `pitch` bytes apart:
    /// only the part of the cursor inside the region is written.
    public func composite(into pixels: UnsafeMutableRawPointer, originX: Int, originY: Int, width: Int, height: Int, pitch: Int) {
        let b = bounds
        let x0 = max(b.x, originX), x1 = min(b.maxX, originX + width)
        let y0 = max(b.y, originY), y1 = min(b.maxY, originY + height)
        guard x0 < x1, y0 < y1 else { return }
        for y in y0..<y1 {
            let row = pixels + (y - originY) * pitch
            for x in x0..<x1 {
                let offset = (x - originX) * 4
                // SAFETY: (x, y) lies inside the region the caller lends (clipped above).
                let under = row.loadUnaligned(fromByteOffset: offset, as: UInt32.self)
                row.storeBytes(of: Self.blend(shape.argb(x: x - b.x, y: y - b.y), over: under), toByteOffset: offset, as: UInt32.self)
            }
        }
    }
}

extension PixelCanvas {
    /// Composites `cursor` over the canvas (its top-left pixel being the framebuffer's (0, 0)).
    public mutating func composite(_ cursor: CursorState) {
        let b = cursor.bounds
        let x0 = max(0, b.x), x1 = min(width, b.maxX), y0 = max(0, b.y), y1 = min(height, b.maxY)
        guard x0 < x1, y0 < y1 else { return }
        for y in y0..<y1 {
            for x in x0..<x1 {
                setPixel(x: x, y: y, CursorState.blend(cursor.shape.argb(x: x - b.x, y: y - b.y), over: pixel(x: x, y: y)))
            }
        }
    }
}
