import Foundation
import NIOCore
@testable import RFB

/// A client-side decoder of FramebufferUpdates (Raw, ZRLE, Tight with JPEG, DesktopSize,
/// LastRect) into pixel values of the client's format, for round-trip tests. Written from
/// RFC 6143 and the Tight spec, independently of the server's encoders.
final class TestDecoder {
    let format: PixelFormat
    var width: Int, height: Int
    var pixels: [UInt32]
    private let zrle = Inflater()
    private let tight = [Inflater(), Inflater(), Inflater(), Inflater()]
    /// Tight JPEG rectangles decoded so far (libjpeg-turbo's decoder).
    var jpegRects: [RFBRect] = []
    /// The subencoding of every ZRLE tile decoded so far, in order.
    var zrleSubencodings: [Int] = []
    struct Bad: Error, CustomStringConvertible { let description: String }

    init(format: PixelFormat, width: Int, height: Int) {
        self.format = format
        self.width = width
        self.height = height
        pixels = [UInt32](repeating: 0xDEAD_BEEF, count: width * height)
    }

    private var bytes: [UInt8] = []
    private var at = 0

    private func take(_ n: Int) throws -> ArraySlice<UInt8> {
        guard n >= 0, at + n <= bytes.count else { throw Bad(description: "truncated at \(at) wanting \(n)") }
        defer { at += n }
        return bytes[at..<at + n]
    }
    private func u8() throws -> Int { Int(try take(1).first!) }
    private func u16() throws -> Int { let b = try take(2); return Int(b.first!) << 8 | Int(b.last!) }
    private func u32() throws -> Int { let b = Array(try take(4)); return Int(b[0]) << 24 | Int(b[1]) << 16 | Int(b[2]) << 8 | Int(b[3]) }

    private func value(_ wire: [UInt8]) -> UInt32 {
        var v: UInt32 = 0
        if format.bigEndian { for b in wire { v = v << 8 | UInt32(b) } } else { for b in wire.reversed() { v = v << 8 | UInt32(b) } }
        return v
    }

    /// Decodes one whole FramebufferUpdate; returns its rectangles (pseudo ones included).
    @discardableResult
    func decode(_ message: ByteBuffer) throws -> [(RFBRect, Int32)] { try decode(Array(message.readableBytesView)) }

    /// Decodes one whole FramebufferUpdate; returns its rectangles (pseudo ones included).
    @discardableResult
    func decode(_ message: [UInt8]) throws -> [(RFBRect, Int32)] {
        bytes = message
        at = 0
        guard try u8() == 0 else { throw Bad(description: "not a FramebufferUpdate") }
        _ = try u8()
        let count = try u16()
        var rects: [(RFBRect, Int32)] = []
        var i = 0
        while count == 0xFFFF || i < count {
            let r = RFBRect(x: try u16(), y: try u16(), width: try u16(), height: try u16())
            let enc = Int32(bitPattern: UInt32(try u32()))
            rects.append((r, enc))
            i += 1
            if enc == EncodingType.lastRect { break }
            if enc == EncodingType.desktopSize {
                width = r.width; height = r.height
                pixels = [UInt32](repeating: 0xDEAD_BEEF, count: width * height)
                continue
            }
            guard r.maxX <= width, r.maxY <= height else { throw Bad(description: "rectangle \(r) past the edge") }
            switch enc {
            case EncodingType.raw:
                for y in r.y..<r.maxY { for x in r.x..<r.maxX { pixels[y * width + x] = value(Array(try take(format.bytesPerPixel))) } }
            case EncodingType.zrle: try decodeZRLE(r)
            case EncodingType.tight: try decodeTight(r)
            default: throw Bad(description: "unexpected encoding \(enc)")
            }
        }
        guard at == bytes.count else { throw Bad(description: "\(bytes.count - at) bytes left over") }
        return rects
    }

    private func decodeZRLE(_ r: RFBRect) throws {
        let length = try u32()
        let z = Array(try take(length))
        guard let data = zrle.inflate(z, capacity: r.width * r.height * 5 + 4096) else { throw Bad(description: "ZRLE zlib error") }
        var p = 0
        func b() throws -> Int { guard p < data.count else { throw Bad(description: "ZRLE data short") }; p += 1; return Int(data[p - 1]) }
        let compact = format.compactOffset
        func cpixel() throws -> UInt32 {
            if let off = compact {
                var w = [UInt8](repeating: 0, count: 4)
                for k in 0..<3 { w[off + k] = UInt8(try b()) }
                return value(w)
            }
            return value(try (0..<format.bytesPerPixel).map { _ in UInt8(try b()) })
        }
        func runLength() throws -> Int { var n = 1; while true { let v = try b(); n += v; if v != 255 { return n } } }
        var ty = r.y
        while ty < r.maxY {
            let th = min(64, r.maxY - ty)
            var tx = r.x
            while tx < r.maxX {
                let tw = min(64, r.maxX - tx)
                var tile = [UInt32]()
                let sub = try b()
                zrleSubencodings.append(sub)
                switch sub {
                case 0: for _ in 0..<tw * th { tile.append(try cpixel()) }
                case 1: let v = try cpixel(); tile = [UInt32](repeating: v, count: tw * th)
                case 2...16:
                    let pal = try (0..<sub).map { _ in try cpixel() }
                    let bits = sub == 2 ? 1 : sub <= 4 ? 2 : 4
                    for _ in 0..<th {
                        var byte = 0, left = 0
                        for _ in 0..<tw {
                            if left == 0 { byte = try b(); left = 8 }
                            left -= bits
                            tile.append(pal[(byte >> left) & ((1 << bits) - 1)])
                        }
                    }
                case 128:
                    while tile.count < tw * th { let v = try cpixel(); tile += [UInt32](repeating: v, count: try runLength()) }
                case 130...255:
                    let pal = try (0..<(sub - 128)).map { _ in try cpixel() }
                    while tile.count < tw * th {
                        let i = try b()
                        tile += [UInt32](repeating: pal[i & 127], count: i & 128 != 0 ? try runLength() : 1)
                    }
                default: throw Bad(description: "ZRLE subencoding \(sub)")
                }
                guard tile.count == tw * th else { throw Bad(description: "ZRLE tile overrun") }
                for y in 0..<th { for x in 0..<tw { pixels[(ty + y) * width + tx + x] = tile[y * tw + x] } }
                tx += 64
            }
            ty += 64
        }
        guard p == data.count else { throw Bad(description: "ZRLE: \(data.count - p) bytes left in the rectangle") }
    }

    /// Tight's pixel: three bytes (red, green, blue) where the format is 32 bpp 8-8-8, else a pixel of the format.
    private var tightPixelSize: Int { isTight888 ? 3 : format.bytesPerPixel }
    private var isTight888: Bool {
        format.bitsPerPixel == 32 && format.depth == 24 && format.redMax == 255 && format.greenMax == 255 && format.blueMax == 255
    }
    private func tightPixel(_ s: ArraySlice<UInt8>) -> UInt32 {
        let a = Array(s)
        if isTight888 { return UInt32(a[0]) << format.redShift | UInt32(a[1]) << format.greenShift | UInt32(a[2]) << format.blueShift }
        return value(a)
    }

    /// Tight's compact length: one to three bytes of seven bits, the lowest first.
    private func compactLength() throws -> Int {
        var n = try u8(), z = n & 0x7F
        if n & 0x80 != 0 { n = try u8(); z |= (n & 0x7F) << 7; if n & 0x80 != 0 { z |= try u8() << 14 } }
        return z
    }

    private func decodeTight(_ r: RFBRect) throws {
        let tsize = tightPixelSize
        let control = try u8()
        if control >> 4 == 8 {
            let v = tightPixel(try take(tsize))
            for y in r.y..<r.maxY { for x in r.x..<r.maxX { pixels[y * width + x] = v } }
            return
        }
        if control >> 4 == 9 { return try decodeTightJPEG(r) }
        guard control >> 4 < 8 else { throw Bad(description: "Tight control \(control)") }
        let stream = (control >> 4) & 3
        var palette: [UInt32] = []
        if control & 0x40 != 0 {
            let filter = try u8()
            guard filter == 1 else { throw Bad(description: "Tight filter \(filter)") }
            let n = try u8() + 1
            for _ in 0..<n { palette.append(tightPixel(try take(tsize))) }
        }
        let length = palette.count == 2 ? r.height * ((r.width + 7) / 8) : palette.count > 2 ? r.width * r.height : r.width * r.height * tsize
        var data: [UInt8]
        if length < 12 {
            data = Array(try take(length))
        } else {
            let z = try compactLength()
            guard let d = tight[stream].inflate(Array(try take(z)), capacity: length + 16) else { throw Bad(description: "Tight zlib error") }
            data = d
        }
        guard data.count == length else { throw Bad(description: "Tight data \(data.count) bytes, wanted \(length)") }
        for y in 0..<r.height {
            for x in 0..<r.width {
                let v: UInt32
                if palette.count == 2 {
                    v = palette[Int(data[y * ((r.width + 7) / 8) + x / 8] >> (7 - UInt8(x % 8))) & 1]
                } else if palette.count > 2 {
                    v = palette[Int(data[y * r.width + x])]
                } else {
                    v = tightPixel(data[(y * r.width + x) * tsize..<(y * r.width + x + 1) * tsize])
                }
                pixels[(r.y + y) * width + r.x + x] = v
            }
        }
    }

    /// A Tight JPEG rectangle (control 9): a compact length, then a JPEG of the rectangle.
    private func decodeTightJPEG(_ r: RFBRect) throws {
        let z = try compactLength()
        guard let rgb = JPEGDecoder.decode(Array(try take(z)), width: r.width, height: r.height) else { throw Bad(description: "Tight JPEG does not decode") }
        for y in 0..<r.height {
            for x in 0..<r.width {
                let o = (y * r.width + x) * 3
                pixels[(r.y + y) * width + r.x + x] = UInt32(rgb[o]) << format.redShift | UInt32(rgb[o + 1]) << format.greenShift | UInt32(rgb[o + 2]) << format.blueShift
            }
        }
        jpegRects.append(r)
    }
}
