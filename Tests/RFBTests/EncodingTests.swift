import Display
import Foundation
import NIOCore
@testable import RFB
import Testing
import TestSupport

/// A test frame: blocks of one colour, a few-colour pattern, a gradient and noise, so every
/// ZRLE subencoding and every Tight kind shows up.
func testFrame(width: Int, height: Int, seed: UInt64 = 1) -> [UInt8] {
    var rng = SplitMix(state: seed)
    var b = [UInt8](repeating: 0, count: width * height * 4)
    for y in 0..<height {
        for x in 0..<width {
            let p: UInt32
            switch (x / 50 + y / 30) % 4 {
            case 0: p = 0x0033_6699
            case 1: p = (x + y) % 3 == 0 ? 0x00FF_FFFF : (x % 5 == 0 ? 0x0000_0000 : 0x00FF_0000)
            case 2: p = UInt32(x % 256) << 16 | UInt32(y % 256) << 8 | UInt32((x * y) % 256)
            default: p = UInt32(truncatingIfNeeded: rng.next()) & 0x00FF_FFFF
            }
            let o = (y * width + x) * 4
            b[o] = UInt8(p & 0xFF); b[o + 1] = UInt8((p >> 8) & 0xFF); b[o + 2] = UInt8((p >> 16) & 0xFF); b[o + 3] = 0
        }
    }
    return b
}

let formats: [(String, PixelFormat)] = [
    ("guest BGRX", .guestNative),
    ("noVNC RGBX (red-shift 0)", PixelFormat(bitsPerPixel: 32, depth: 24, bigEndian: false, trueColour: true, redMax: 255, greenMax: 255,
                                             blueMax: 255, redShift: 0, greenShift: 8, blueShift: 16)),
    ("32 bpp big-endian", PixelFormat(bitsPerPixel: 32, depth: 24, bigEndian: true, trueColour: true, redMax: 255, greenMax: 255,
                                      blueMax: 255, redShift: 16, greenShift: 8, blueShift: 0)),
    ("32 bpp colours in the high bytes", PixelFormat(bitsPerPixel: 32, depth: 24, bigEndian: false, trueColour: true, redMax: 255,
                                                     greenMax: 255, blueMax: 255, redShift: 24, greenShift: 16, blueShift: 8)),
    ("16 bpp 565 little-endian", PixelFormat(bitsPerPixel: 16, depth: 16, bigEndian: false, trueColour: true, redMax: 31, greenMax: 63,
                                             blueMax: 31, redShift: 11, greenShift: 5, blueShift: 0)),
    ("16 bpp 555 big-endian", PixelFormat(bitsPerPixel: 16, depth: 15, bigEndian: true, trueColour: true, redMax: 31, greenMax: 31,
                                          blueMax: 31, redShift: 10, greenShift: 5, blueShift: 0)),
    ("8 bpp 332", PixelFormat(bitsPerPixel: 8, depth: 8, bigEndian: false, trueColour: true, redMax: 7, greenMax: 7, blueMax: 3,
                              redShift: 0, greenShift: 3, blueShift: 6)),
]

@Suite("RFB encodings")
struct EncodingTests {
    @Test("pixel translation scales each channel to its maximum and places it at its shift")
    func translate() {
        let t565 = PixelTranslator(format: formats[4].1)
        #expect(t565.value(0x00FF_FFFF) == 0xFFFF)
        #expect(t565.value(0x00FF_0000) == 0xF800)
        #expect(t565.value(0x0000_8000) == UInt32((128 * 63 + 127) / 255) << 5)
        var out: [UInt8] = []
        t565.append(0xF800, to: &out)
        #expect(out == [0x00, 0xF8])
        let t8 = PixelTranslator(format: formats[6].1)
        #expect(t8.value(0x00FF_FFFF) == 0xFF)
        #expect(t8.value(0x0000_00FF) == 0xC0)
        #expect(PixelTranslator(format: .guestNative).isIdentity)
        #expect(PixelFormat.guestNative.compactOffset == 0)
        #expect(formats[2].1.compactOffset == 1)
        #expect(formats[3].1.compactOffset == 1)
        #expect(formats[4].1.compactOffset == nil)
    }

    @Test("Raw, ZRLE and Tight decode to exactly the translated pixels, in every format, over several updates on one stream",
          arguments: [EncodingType.raw, EncodingType.zrle, EncodingType.tight], formats.indices)
    func roundTrip(encoding: Int32, formatIndex: Int) throws {
        let (name, format) = formats[formatIndex]
        let (w, h) = (333, 211)
        let geometry = FramebufferGeometry(width: w, height: h)
        let grid = TileGrid(geometry: geometry, tile: TileSize(width: 64, height: 16))
        let translator = PixelTranslator(format: format)
        let zrle = ZRLEEncoder(), tight = TightEncoder()
        let decoder = TestDecoder(format: format, width: w, height: h)
        for (seed, rect) in [(UInt64(1), RFBRect(x: 0, y: 0, width: w, height: h)), (2, RFBRect(x: 5, y: 7, width: 131, height: 67)),
                             (3, RFBRect(x: 330, y: 0, width: 3, height: 211)), (4, RFBRect(x: 0, y: 0, width: w, height: h))] {
            let bytes = testFrame(width: w, height: h, seed: seed)
            try bytes.withUnsafeBytes { raw in
                let frame = FrameView(geometry: geometry, grid: grid, bytes: raw)
                var writer = UpdateWriter(lastRect: encoding == EncodingType.tight)
                let pieces = encoding == EncodingType.tight ? TightEncoder.split(rect) : [rect]
                for r in pieces {
                    writer.header(r, encoding: encoding)
                    writer.withBuffer { out in
                        switch encoding {
                        case EncodingType.zrle: zrle.encode(r, of: frame, translator: translator, into: &out)
                        case EncodingType.tight: tight.encode(r, of: frame, translator: translator, into: &out)
                        default: translator.appendRect(r, of: frame, to: &out)
                        }
                    }
                }
                try decoder.decode(writer.finish())
                var wrong = 0
                for y in rect.y..<rect.maxY {
                    for x in rect.x..<rect.maxX where decoder.pixels[y * w + x] != translator.value(frame.pixel(x: x, y: y)) { wrong += 1 }
                }
                #expect(wrong == 0, "\(name): \(wrong) pixels differ in \(rect)")
            }
        }
    }

    @Test("ZRLE sends a solid 256x256 screen in under 100 bytes")
    func zrleSizes() {
        let geometry = FramebufferGeometry(width: 256, height: 256)
        let grid = TileGrid(geometry: geometry, tile: TileSize(width: 64, height: 16))
        let solid = [UInt8](repeating: 0x40, count: 256 * 256 * 4)
        var out = ByteBuffer()
        solid.withUnsafeBytes { ZRLEEncoder().encode(RFBRect(x: 0, y: 0, width: 256, height: 256), of: FrameView(geometry: geometry, grid: grid, bytes: $0),
                                                     translator: PixelTranslator(format: .guestNative), into: &out) }
        #expect(out.readableBytes < 100)
    }

    /// Tiles of 17 to 127 colours in runs go out as palette RLE (a byte per run, not a
    /// CPIXEL), as QEMU sends them; 128 colours cannot be indexed; all decode exactly.
    @Test("ZRLE sends tiles of 17 to 127 colours as palette RLE, and 128 colours without a palette, exactly", arguments: [0, 2, 3])
    func zrleLargePalettes(formatIndex: Int) throws {
        let counts = [17, 100, 127, 128]
        let geometry = FramebufferGeometry(width: 64 * counts.count, height: 64)
        let grid = TileGrid(geometry: geometry, tile: TileSize(width: 64, height: 16))
        var rng = SplitMix(state: 7)
        var frame = [UInt8](repeating: 0, count: geometry.byteCount)
        for (t, n) in counts.enumerated() {
            let colours = (0..<n).map { (UInt32($0) &* 0x0002_0301 &+ 0x0010_2030) & 0x00FF_FFFF } // distinct: 0x020301 is odd
            var i = 0
            while i < 64 * 64 {
                // Runs of 1 to 4 pixels; every colour appears (the first n runs take them in turn).
                let c = i < n ? colours[i] : colours[Int(rng.next() % UInt64(n))]
                for _ in 0..<(i < n ? 1 : Int(rng.next() % 4) + 1) where i < 64 * 64 {
                    let o = (i / 64) * geometry.pitch + (t * 64 + i % 64) * 4
                    frame[o] = UInt8(c & 0xFF); frame[o + 1] = UInt8((c >> 8) & 0xFF); frame[o + 2] = UInt8((c >> 16) & 0xFF)
                    i += 1
                }
            }
        }
        let format = formats[formatIndex].1
        let translator = PixelTranslator(format: format)
        let rect = RFBRect(x: 0, y: 0, width: geometry.width, height: geometry.height)
        var message = ByteBuffer()
        message.writeBytes([0, 0, 0, 1])
        for v in [rect.x, rect.y, rect.width, rect.height] { message.writeInteger(UInt16(v)) }
        message.writeInteger(EncodingType.zrle)
        frame.withUnsafeBytes { ZRLEEncoder().encode(rect, of: FrameView(geometry: geometry, grid: grid, bytes: $0), translator: translator, into: &message) }
        let decoder = TestDecoder(format: format, width: geometry.width, height: geometry.height)
        try decoder.decode(message)
        #expect(decoder.zrleSubencodings.count == counts.count)
        #expect(Array(decoder.zrleSubencodings.prefix(3)) == [128 + 17, 128 + 100, 128 + 127])
        #expect(decoder.zrleSubencodings.last.map { $0 == 0 || $0 == 128 } == true)
        var wrong = 0
        frame.withUnsafeBytes { b in
            let view = FrameView(geometry: geometry, grid: grid, bytes: b)
            for y in 0..<geometry.height { for x in 0..<geometry.width where decoder.pixels[y * geometry.width + x] != translator.value(view.pixel(x: x, y: y)) { wrong += 1 } }
        }
        #expect(wrong == 0)
    }

    @Test("Tight pieces are at most 2048 wide and 64 Ki pixels, and cover the rectangle exactly")
    func tightSplit() {
        let r = RFBRect(x: 3, y: 5, width: 4000, height: 300)
        let pieces = TightEncoder.split(r)
        #expect(pieces.allSatisfy { $0.width <= 2048 && $0.width * $0.height <= 65536 })
        #expect(pieces.map { $0.width * $0.height }.reduce(0, +) == r.width * r.height)
    }
}
