import NIOCore

/// ZRLE (RFC 6143 7.7.6): 64x64 tiles, each solid, packed palette (up to 16 colours), palette
/// RLE (up to 127, as QEMU's encoder does: a byte per run instead of a CPIXEL), plain RLE or
/// raw, whichever is smallest, all through one zlib stream kept for the connection's life.
/// Pixels are CPIXELs: 3 bytes where the client's 32-bit format leaves one byte unused.
///
/// Memory: one tile's bytes at a time (about 16 KiB) are fed to zlib, whose output goes
/// straight into the message buffer; nothing grows with the rectangle or the frame.
public final class ZRLEEncoder {
    private let deflater = Deflater()
    private var tiles: [UInt8] = []
    private var pixels = [UInt32](repeating: 0, count: 64 * 64)
    private var palette = ZRLEPalette()

    public init() {}

    /// Writes `rect` of `frame` (length + zlib data) onto the end of `out`.
    public func encode(_ rect: RFBRect, of frame: FrameView, translator: PixelTranslator, into out: inout ByteBuffer) {
        let lengthAt = out.writerIndex
        out.writeInteger(UInt32(0))
        var length = 0
        var ty = rect.y
        while ty < rect.maxY {
            let th = min(64, rect.maxY - ty)
            var tx = rect.x
            while tx < rect.maxX {
                let tw = min(64, rect.maxX - tx)
                tiles.removeAll(keepingCapacity: true)
                encodeTile(x: tx, y: ty, width: tw, height: th, frame: frame, translator: translator)
                length += tiles.withUnsafeBytes { deflater.feed($0, into: &out, sync: false) }
                tx += 64
            }
            ty += 64
        }
        length += deflater.feed(UnsafeRawBufferPointer(start: nil, count: 0), into: &out, sync: true)
        out.setInteger(UInt32(length), at: lengthAt)
    }

    /// What one pass over a tile's runs found: its palette (in `palette`, unless it has more
    /// than 127 colours) and the sizes the run-length subencodings would take.
    private struct TileScan {
        var many = false
        var runs = 0, runLengthBytes = 0, paletteRunBytes = 0
    }

    private func encodeTile(x: Int, y: Int, width: Int, height: Int, frame: FrameView, translator t: PixelTranslator) {
        let n = width * height
        loadTile(x: x, y: y, width: width, height: height, frame: frame, translator: t)
        let scan = scanTile(n)
        let cp = cpixelSize(t.format)
        if !scan.many && palette.count == 1 {
            tiles.append(1)
            appendCPixel(palette.colours[0], t)
            return
        }
        let raw = n * cp
        let plainRLE = scan.runs * cp + scan.runLengthBytes
        var best = min(raw, plainRLE)
        var packed = Int.max, paletteRLE = Int.max
        if !scan.many {
            paletteRLE = palette.count * cp + scan.paletteRunBytes
            best = min(best, paletteRLE)
        }
        if !scan.many && palette.count <= 16 {
            packed = palette.count * cp + height * ((width * packedBits + 7) / 8)
            best = min(best, packed)
        }
        if best == packed {
            appendPacked(width: width, height: height, t)
        } else if best == paletteRLE {
            tiles.append(128 | UInt8(palette.count))
            for v in palette.colours { appendCPixel(v, t) }
            forEachRun(n) { v, len in
                let index = palette.index(of: v)
                if len == 1 { tiles.append(index); return }
                tiles.append(index | 128)
                appendRunLength(len)
            }
        } else if best == plainRLE {
            tiles.append(128)
            forEachRun(n) { v, len in
                appendCPixel(v, t)
                appendRunLength(len)
            }
        } else {
            tiles.append(0)
            for k in 0..<n { appendCPixel(pixels[k], t) }
        }
    }

    /// The tile's pixels in the client's format, row after row, into `pixels`.
    private func loadTile(x: Int, y: Int, width: Int, height: Int, frame: FrameView, translator t: PixelTranslator) {
        var i = 0
        for row in y..<y + height {
            let base = row * frame.pitch + x * 4
            for col in 0..<width {
                pixels[i] = t.value(frame.pixel(atOffset: base + col * 4))
                i += 1
            }
        }
    }

    /// The palette (up to 127 colours; more means "many") and the runs of the first `n` pixels.
    private func scanTile(_ n: Int) -> TileScan {
        palette.removeAll()
        var scan = TileScan()
        var j = 0
        while j < n {
            let v = pixels[j]
            var k = j + 1
            while k < n && pixels[k] == v { k += 1 }
            let len = k - j
            scan.runs += 1
            scan.runLengthBytes += (len - 1) / 255 + 1
            scan.paletteRunBytes += len == 1 ? 1 : 1 + (len - 1) / 255 + 1
            if !scan.many && !palette.insert(v) { scan.many = true }
            j = k
        }
        return scan
    }

    /// Bits per index of a packed palette of `palette.count` (2 to 16) colours.
    private var packedBits: Int { palette.count <= 2 ? 1 : palette.count <= 4 ? 2 : 4 }

    /// A packed-palette tile: the palette, then each row's indexes packed into bytes.
    private func appendPacked(width: Int, height: Int, _ t: PixelTranslator) {
        tiles.append(UInt8(palette.count))
        for v in palette.colours { appendCPixel(v, t) }
        let bits = packedBits
        for row in 0..<height {
            var byte: UInt8 = 0, used = 0
            for col in 0..<width {
                byte = byte << bits | palette.index(of: pixels[row * width + col])
                used += bits
                if used == 8 { tiles.append(byte); byte = 0; used = 0 }
            }
            if used > 0 { tiles.append(byte << (8 - used)) }
        }
    }

    private func forEachRun(_ n: Int, _ body: (UInt32, Int) -> Void) {
        var j = 0
        while j < n {
            let v = pixels[j]
            var k = j + 1
            while k < n && pixels[k] == v { k += 1 }
            body(v, k - j)
            j = k
        }
    }

    private func appendRunLength(_ len: Int) {
        var rest = len - 1
        while rest >= 255 { tiles.append(255); rest -= 255 }
        tiles.append(UInt8(rest))
    }

    private func cpixelSize(_ f: PixelFormat) -> Int { f.compactOffset != nil ? 3 : f.bytesPerPixel }

    @inline(__always)
    private func appendCPixel(_ v: UInt32, _ t: PixelTranslator) {
        guard let offset = t.format.compactOffset else { t.append(v, to: &tiles); return }
        let wire: (UInt8, UInt8, UInt8, UInt8) = t.format.bigEndian
            ? (UInt8(truncatingIfNeeded: v >> 24), UInt8(truncatingIfNeeded: v >> 16), UInt8(truncatingIfNeeded: v >> 8), UInt8(truncatingIfNeeded: v))
            : (UInt8(truncatingIfNeeded: v), UInt8(truncatingIfNeeded: v >> 8), UInt8(truncatingIfNeeded: v >> 16), UInt8(truncatingIfNeeded: v >> 24))
        if offset == 0 {
            tiles.append(wire.0); tiles.append(wire.1); tiles.append(wire.2)
        } else {
            tiles.append(wire.1); tiles.append(wire.2); tiles.append(wire.3)
        }
    }
}
