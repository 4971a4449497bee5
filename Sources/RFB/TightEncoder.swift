import NIOCore

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
///
/// Memory: the pixels are read from the frame row by row and each row's data is fed to zlib,
/// whose output goes straight into the message buffer; a stream is created on first use.
public final class TightEncoder {
    private var streams: [Deflater?] = [nil, nil, nil]
    /// The client's JPEG settings, or nil: lossless only.
    public var jpeg: TightJPEGSettings?
    /// The smallest rectangle sent as JPEG (QEMU's VNC_TIGHT_JPEG_MIN_RECT_SIZE): below
    /// this a JPEG's headers cost more than its saving.
    public static let jpegMinPixels = 4096
    private var compressor: JPEGCompressor?
    private var row: [UInt8] = []
    private var palette: [UInt32] = []
    private var paletteGuest: [UInt32] = []

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

    /// Writes one Tight rectangle's data (after its header) for `rect` (already split) onto
    /// the end of `out`; returns whether it went out lossy (JPEG), which only happens with
    /// `jpeg` set and `lossy`.
    @discardableResult
    public func encode(_ rect: RFBRect, of frame: FrameView, translator t: PixelTranslator, into out: inout ByteBuffer, lossy: Bool = true) -> Bool {
        findPalette(rect, of: frame, translator: t)
        let pixel = TPixel(translator: t)
        if palette.count == 1 {
            out.writeInteger(UInt8(0x80)) // FillCompression
            pixel.write(frame.pixel(x: rect.x, y: rect.y), to: &out)
            return false
        }
        if palette.isEmpty, lossy, pixel.is888, let settings = jpeg, rect.width * rect.height >= Self.jpegMinPixels,
           !Self.flat(rect, of: frame) {
            let c = compressor ?? JPEGCompressor()
            compressor = c
            let mark = out.writerIndex
            out.writeInteger(UInt8(0x90)) // JpegCompression
            if c.append(rect, of: frame, settings: settings, to: &out) { return true }
            out.moveWriterIndex(to: mark)
        }
        let stream: Int, size: Int
        if palette.count == 2 {
            stream = 1
            size = (rect.width + 7) / 8 * rect.height
            out.writeBytes([0x40 | 0x10, 1, 1]) // explicit filter, stream 1; palette filter; 2 colours
        } else if palette.count > 2 {
            stream = 2
            size = rect.width * rect.height
            out.writeBytes([0x40 | 0x20, 1, UInt8(palette.count - 1)])
        } else {
            stream = 0
            size = rect.width * rect.height * pixel.size
            out.writeInteger(UInt8(0x00)) // basic, stream 0, no filter
        }
        if palette.count >= 2 {
            // The palette's TPIXELs, from the guest pixels that gave each value.
            for p in paletteGuest { pixel.write(p, to: &out) }
        }
        // Under 12 bytes the data goes uncompressed; else a compact length, then zlib data.
        if size < 12 {
            for y in rect.y..<rect.maxY { rowData(y, rect, frame, t, pixel); out.writeBytes(row) }
            return false
        }
        let lengthAt = out.writerIndex
        out.writeBytes([0, 0, 0])
        let z = streams[stream] ?? Deflater()
        streams[stream] = z
        var n = 0
        for y in rect.y..<rect.maxY {
            rowData(y, rect, frame, t, pixel)
            n += row.withUnsafeBytes { z.feed($0, into: &out, sync: y == rect.maxY - 1) }
        }
        Self.setCompactLength(n, at: lengthAt, in: &out)
        return false
    }

    /// The palette of `rect` in the client's pixel values, in order of first appearance, with
    /// the guest pixel that first gave each: one to 16 colours, or empty for more than 16.
    private func findPalette(_ rect: RFBRect, of frame: FrameView, translator t: PixelTranslator) {
        palette.removeAll(keepingCapacity: true)
        paletteGuest.removeAll(keepingCapacity: true)
        for y in rect.y..<rect.maxY {
            let base = y * frame.pitch + rect.x * 4
            var last: UInt32?
            for x in 0..<rect.width {
                let p = frame.pixel(atOffset: base + x * 4)
                let v = t.value(p)
                if v == last { continue }
                last = v
                if palette.contains(v) { continue }
                if palette.count == 16 { palette.removeAll(); return }
                palette.append(v)
                paletteGuest.append(p)
            }
        }
    }

    /// Row `y` of `rect`'s data into `row`: a bit per pixel (two colours), a palette index a
    /// pixel (up to 16), or TPIXELs.
    private func rowData(_ y: Int, _ rect: RFBRect, _ frame: FrameView, _ t: PixelTranslator, _ pixel: TPixel) {
        row.removeAll(keepingCapacity: true)
        let base = y * frame.pitch + rect.x * 4
        switch palette.count {
        case 2:
            var byte: UInt8 = 0, used = 0
            for x in 0..<rect.width {
                byte = byte << 1 | (t.value(frame.pixel(atOffset: base + x * 4)) == palette[1] ? 1 : 0)
                used += 1
                if used == 8 { row.append(byte); byte = 0; used = 0 }
            }
            if used > 0 { row.append(byte << (8 - used)) }
        case 3...:
            for x in 0..<rect.width { row.append(UInt8(palette.firstIndex(of: t.value(frame.pixel(atOffset: base + x * 4)))!)) }
        default:
            for x in 0..<rect.width { pixel.append(frame.pixel(atOffset: base + x * 4), to: &row) }
        }
    }

    /// Whether more than 7/8 of the pixels equal their left neighbour (runs: zlib's kind of picture).
    static func flat(_ rect: RFBRect, of frame: FrameView) -> Bool {
        var same = 0
        for y in rect.y..<rect.maxY {
            let base = y * frame.pitch + rect.x * 4
            var left = frame.pixel(atOffset: base) & 0xFF_FFFF
            for x in 1..<max(1, rect.width) {
                let p = frame.pixel(atOffset: base + x * 4) & 0xFF_FFFF
                if p == left { same += 1 }
                left = p
            }
        }
        return same * 8 > rect.width * rect.height * 7
    }

    /// Tight's 1-3 byte length: 7 bits per byte, low first, the top bit meaning "more".
    static func compactLength(_ n: Int) -> [UInt8] {
        var out: [UInt8] = [UInt8(n & 0x7F) | (n > 0x7F ? 0x80 : 0)]
        if n > 0x7F {
            out.append(UInt8((n >> 7) & 0x7F) | (n > 0x3FFF ? 0x80 : 0))
            if n > 0x3FFF { out.append(UInt8((n >> 14) & 0xFF)) }
        }
        return out
    }

    static func appendCompactLength(_ n: Int, to out: inout ByteBuffer) { out.writeBytes(compactLength(n)) }

    /// Fills in the compact length of the `n` data bytes that follow the 3 bytes kept for it
    /// at `index`, moving the data down when the length takes fewer bytes.
    static func setCompactLength(_ n: Int, at index: Int, in out: inout ByteBuffer) {
        let length = compactLength(n)
        out.setBytes(length, at: index)
        guard length.count < 3 else { return }
        let gap = 3 - length.count
        let start = index - out.readerIndex
        out.withUnsafeMutableReadableBytes { b in
            // SAFETY: both ranges lie inside the readable bytes (the n data bytes after the 3 kept).
            (b.baseAddress! + start + length.count).copyMemory(from: b.baseAddress! + start + 3, byteCount: n)
        }
        out.moveWriterIndex(to: out.writerIndex - gap)
    }
}

/// How a Tight TPIXEL is written: R, G, B bytes for a 32-bit 8-8-8 client, else the
/// client's own pixel.
struct TPixel {
    let translator: PixelTranslator
    let is888: Bool
    init(translator t: PixelTranslator) {
        translator = t
        is888 = t.format.bitsPerPixel == 32 && t.format.depth == 24 && t.format.redMax == 255 && t.format.greenMax == 255
            && t.format.blueMax == 255 && t.format.redShift % 8 == 0 && t.format.greenShift % 8 == 0 && t.format.blueShift % 8 == 0
    }
    var size: Int { is888 ? 3 : translator.format.bytesPerPixel }

    func append(_ p: UInt32, to o: inout [UInt8]) {
        if is888 {
            o.append(UInt8((p >> 16) & 0xFF)); o.append(UInt8((p >> 8) & 0xFF)); o.append(UInt8(p & 0xFF))
        } else {
            translator.append(translator.value(p), to: &o)
        }
    }

    func write(_ p: UInt32, to out: inout ByteBuffer) {
        if is888 {
            out.writeMultipleIntegers(UInt8((p >> 16) & 0xFF), UInt8((p >> 8) & 0xFF), UInt8(p & 0xFF))
        } else {
            out.writeWithUnsafeMutableBytes(minimumWritableBytes: 4) { translator.store(translator.value(p), at: $0.baseAddress!) }
        }
    }
}
