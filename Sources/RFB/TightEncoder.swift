/// Tight (the TightVNC/TigerVNC encoding, lossless part): a rectangle is a solid fill, a
/// 2-colour bitmap or up-to-16-colour indexed picture (palette filter), or full-colour
/// pixels; data of 12 bytes or more goes through one of four zlib streams kept for the
/// connection's life (0: full colour, 1: two colours, 2: indexed). Pixels are TPIXELs: R, G, B
/// bytes when the client's format is 32-bit 8-8-8, else the client's pixel.
///
/// Lossy part: with `jpeg` set (the client asked for a JPEG quality), a continuous-tone
/// rectangle goes out as a JPEG (control byte 0x90), if the client's format is 32-bit 8-8-8
/// (Tight allows JPEG only then) and the caller allows it. Continuous-tone: more than 16
/// colours, at least `jpegMinPixels` pixels, and at most 7/8 of its pixels equal to their left
/// neighbour (flat areas with text and icons compress better, and exactly, with zlib).
public final class TightEncoder {
    private let streams = [Deflater(), Deflater(), Deflater(), Deflater()]
    /// The client's JPEG settings, or nil: lossless only.
    public var jpeg: TightJPEGSettings?
    /// The smallest rectangle sent as JPEG (QEMU's VNC_TIGHT_JPEG_MIN_RECT_SIZE): below
    /// this a JPEG's headers cost more than its saving.
    public static let jpegMinPixels = 4096
    private var compressor: JPEGCompressor?
    private var values: [UInt32] = []
    private var guest: [UInt32] = []
    private var data: [UInt8] = []

    public init() {}

    /// TigerVNC breaks on Tight rectangles wider than 2048; Tight's own limit is 64 Ki pixels
    /// of data per rectangle. Splits `r` into pieces that respect both.
    public static func split(_ r: RFBRect) -> [RFBRect] {
        var out: [RFBRect] = []
        var x = r.x
        while x < r.maxX {
            let w = min(2048, r.maxX - x)
            let rowsPer = max(1, 65536 / w)
            var y = r.y
            while y < r.maxY {
                let h = min(rowsPer, r.maxY - y)
                out.append(RFBRect(x: x, y: y, width: w, height: h))
                y += h
            }
            x += w
        }
        return out
    }

    /// Appends one Tight rectangle's data (after its header) for `rect` (already split);
    /// returns whether it went out lossy (JPEG), which only happens with `jpeg` set and `lossy`.
    @discardableResult
    public func encode(_ rect: RFBRect, of frame: FrameView, translator t: PixelTranslator, into out: inout [UInt8], lossy: Bool = true) -> Bool {
        values.removeAll(keepingCapacity: true)
        guest.removeAll(keepingCapacity: true)
        for y in rect.y..<rect.maxY {
            let base = y * frame.pitch + rect.x * 4
            for x in 0..<rect.width {
                let p = frame.pixel(atOffset: base + x * 4)
                guest.append(p)
                values.append(t.value(p))
            }
        }
        var palette: [UInt32] = [], paletteGuest: [UInt32] = []
        for (i, v) in values.enumerated() where !palette.contains(v) {
            if palette.count == 16 { palette.removeAll(); break }
            palette.append(v); paletteGuest.append(guest[i])
        }
        let is888 = t.format.bitsPerPixel == 32 && t.format.depth == 24 && t.format.redMax == 255 && t.format.greenMax == 255
            && t.format.blueMax == 255 && t.format.redShift % 8 == 0 && t.format.greenShift % 8 == 0 && t.format.blueShift % 8 == 0
        func tpixel(_ p: UInt32, _ v: UInt32, into o: inout [UInt8]) {
            if is888 {
                o.append(UInt8((p >> 16) & 0xFF)); o.append(UInt8((p >> 8) & 0xFF)); o.append(UInt8(p & 0xFF))
            } else {
                t.append(v, to: &o)
            }
        }
        data.removeAll(keepingCapacity: true)
        if palette.count == 1 {
            out.append(0x80) // FillCompression
            tpixel(paletteGuest[0], palette[0], into: &out)
            return false
        }
        if palette.isEmpty, lossy, is888, let settings = jpeg, rect.width * rect.height >= Self.jpegMinPixels, !Self.flat(values, width: rect.width) {
            let c = compressor ?? JPEGCompressor()
            compressor = c
            let mark = out.count
            out.append(0x90) // JpegCompression
            if c.append(rect, of: frame, settings: settings, to: &out) { return true }
            out.removeSubrange(mark...)
        }
        let stream: Int
        if palette.count == 2 {
            stream = 1
            out += [0x40 | 0x10, 1, 1] // explicit filter, stream 1; palette filter; 2 colours
            for i in 0..<2 { tpixel(paletteGuest[i], palette[i], into: &out) }
            for row in 0..<rect.height {
                var byte: UInt8 = 0, used = 0
                for col in 0..<rect.width {
                    byte = byte << 1 | (values[row * rect.width + col] == palette[1] ? 1 : 0)
                    used += 1
                    if used == 8 { data.append(byte); byte = 0; used = 0 }
                }
                if used > 0 { data.append(byte << (8 - used)) }
            }
        } else if palette.count > 2 {
            stream = 2
            out += [0x40 | 0x20, 1, UInt8(palette.count - 1)]
            for i in 0..<palette.count { tpixel(paletteGuest[i], palette[i], into: &out) }
            for v in values { data.append(UInt8(palette.firstIndex(of: v)!)) }
        } else {
            stream = 0
            out.append(0x00) // basic, stream 0, no filter
            for i in 0..<values.count { tpixel(guest[i], values[i], into: &data) }
        }
        if data.count < 12 {
            out += data
            return false
        }
        let z = streams[stream].compress(data)
        Self.appendCompactLength(z.count, to: &out)
        out += z
        return false
    }

    /// Whether more than 7/8 of the pixels equal their left neighbour (runs: zlib's kind of picture).
    static func flat(_ values: [UInt32], width: Int) -> Bool {
        var same = 0
        var i = 0
        while i < values.count {
            let end = i + width
            for j in i + 1..<end where values[j] == values[j - 1] { same += 1 }
            i = end
        }
        return same * 8 > values.count * 7
    }

    /// Tight's 1-3 byte length: 7 bits per byte, low first, the top bit meaning "more".
    static func appendCompactLength(_ n: Int, to out: inout [UInt8]) {
        out.append(UInt8(n & 0x7F) | (n > 0x7F ? 0x80 : 0))
        if n > 0x7F {
            out.append(UInt8((n >> 7) & 0x7F) | (n > 0x3FFF ? 0x80 : 0))
            if n > 0x3FFF { out.append(UInt8((n >> 14) & 0xFF)) }
        }
    }
}
