import NIOCore

/// An RFB PIXEL_FORMAT (RFC 6143 7.4): how a client wants pixels on the wire.
public struct PixelFormat: Equatable, Sendable, CustomStringConvertible {
    public var bitsPerPixel: UInt8
    public var depth: UInt8
    public var bigEndian: Bool
    public var trueColour: Bool
    public var redMax: UInt16, greenMax: UInt16, blueMax: UInt16
    public var redShift: UInt8, greenShift: UInt8, blueShift: UInt8

    public init(bitsPerPixel: UInt8, depth: UInt8, bigEndian: Bool, trueColour: Bool,
                redMax: UInt16, greenMax: UInt16, blueMax: UInt16, redShift: UInt8, greenShift: UInt8, blueShift: UInt8) {
        self.bitsPerPixel = bitsPerPixel
        self.depth = depth
        self.bigEndian = bigEndian
        self.trueColour = trueColour
        self.redMax = redMax
        self.greenMax = greenMax
        self.blueMax = blueMax
        self.redShift = redShift
        self.greenShift = greenShift
        self.blueShift = blueShift
    }

    /// The guest's own format: XRGB8888 little-endian (bytes B, G, R, X), what ServerInit offers.
    public static let guestNative = PixelFormat(bitsPerPixel: 32, depth: 24, bigEndian: false, trueColour: true,
                                                redMax: 255, greenMax: 255, blueMax: 255, redShift: 16, greenShift: 8, blueShift: 0)

    /// Bytes per pixel on the wire (1, 2 or 4 once validated).
    public var bytesPerPixel: Int { Int(bitsPerPixel) / 8 }

    /// The 16 wire bytes.
    public var bytes: [UInt8] {
        [bitsPerPixel, depth, bigEndian ? 1 : 0, trueColour ? 1 : 0,
         UInt8(redMax >> 8), UInt8(redMax & 0xFF), UInt8(greenMax >> 8), UInt8(greenMax & 0xFF),
         UInt8(blueMax >> 8), UInt8(blueMax & 0xFF), redShift, greenShift, blueShift, 0, 0, 0]
    }

    /// Decodes 16 wire bytes (no validation: see `validate()`).
    public init(wire b: some RandomAccessCollection<UInt8>) {
        let a = Array(b)
        precondition(a.count >= 13, "pixel format is 16 bytes")
        self.init(bitsPerPixel: a[0], depth: a[1], bigEndian: a[2] != 0, trueColour: a[3] != 0,
                  redMax: UInt16(a[4]) << 8 | UInt16(a[5]), greenMax: UInt16(a[6]) << 8 | UInt16(a[7]),
                  blueMax: UInt16(a[8]) << 8 | UInt16(a[9]), redShift: a[10], greenShift: a[11], blueShift: a[12])
    }

    /// Why this server cannot send pixels in this format, or nil when it can: true colour,
    /// 8, 16 or 32 bits per pixel, every channel's maximum of the form 2^n - 1 and within
    /// the pixel at its shift.
    public func validate() -> String? {
        guard [8, 16, 32].contains(bitsPerPixel) else {
            return "\(bitsPerPixel) bits per pixel is not supported (use 8, 16 or 32)"
        }
        guard trueColour else { return "colour-map pixel formats are not supported (use true colour)" }
        for (name, max, shift) in [("red", redMax, redShift), ("green", greenMax, greenShift), ("blue", blueMax, blueShift)] {
            guard max != 0, max & (max &+ 1) == 0 else { return "\(name)-max \(max) is not 2^n - 1" }
            let bits = 16 - max.leadingZeroBitCount
            guard Int(shift) + bits <= Int(bitsPerPixel) else {
                return "\(name) (max \(max), shift \(shift)) does not fit in \(bitsPerPixel) bits per pixel"
            }
        }
        return nil
    }

    /// Whether ZRLE may send this format as 3-byte CPIXELs, and which 3 bytes of the wire
    /// pixel they are (offset 0 or 1): 32 bpp, depth <= 24, every channel in the low or
    /// every channel in the high 3 bytes.
    public var compactOffset: Int? {
        guard bitsPerPixel == 32, depth <= 24 else { return nil }
        let mask = UInt32(redMax) << redShift | UInt32(greenMax) << greenShift | UInt32(blueMax) << blueShift
        if mask & 0xFF00_0000 == 0 { return bigEndian ? 1 : 0 }
        if mask & 0x0000_00FF == 0 { return bigEndian ? 0 : 1 }
        return nil
    }

    public var description: String {
        "\(bitsPerPixel) bpp depth \(depth) \(bigEndian ? "big" : "little")-endian, max \(redMax)/\(greenMax)/\(blueMax), shift \(redShift)/\(greenShift)/\(blueShift)"
    }
}

/// Converts the guest's XRGB8888 pixels (little-endian `0x00RRGGBB`) to a client's format
/// through three 256-entry tables, one per channel.
public struct PixelTranslator: Sendable {
    public let format: PixelFormat
    private let red: [UInt32], green: [UInt32], blue: [UInt32]
    /// True when the client's format is the guest's own: a row is a plain copy.
    public let isIdentity: Bool

    public init(format: PixelFormat) {
        self.format = format
        func table(_ max: UInt16, _ shift: UInt8) -> [UInt32] {
            (0..<256).map { v in UInt32((v * Int(max) + 127) / 255) << UInt32(shift) }
        }
        red = table(format.redMax, format.redShift)
        green = table(format.greenMax, format.greenShift)
        blue = table(format.blueMax, format.blueShift)
        isIdentity = format.bitsPerPixel == 32 && !format.bigEndian && format.redMax == 255 && format.greenMax == 255
            && format.blueMax == 255 && format.redShift == 16 && format.greenShift == 8 && format.blueShift == 0
    }

    /// One guest pixel as the client's pixel value (before byte order).
    @inline(__always)
    public func value(_ p: UInt32) -> UInt32 {
        red[Int((p >> 16) & 0xFF)] | green[Int((p >> 8) & 0xFF)] | blue[Int(p & 0xFF)]
    }

    /// Appends a pixel value in the client's byte order and size.
    @inline(__always)
    public func append(_ v: UInt32, to out: inout [UInt8]) {
        switch format.bitsPerPixel {
        case 8: out.append(UInt8(truncatingIfNeeded: v))
        case 16:
            if format.bigEndian { out.append(UInt8(truncatingIfNeeded: v >> 8)); out.append(UInt8(truncatingIfNeeded: v)) }
            else { out.append(UInt8(truncatingIfNeeded: v)); out.append(UInt8(truncatingIfNeeded: v >> 8)) }
        default:
            if format.bigEndian {
                out.append(UInt8(truncatingIfNeeded: v >> 24)); out.append(UInt8(truncatingIfNeeded: v >> 16))
                out.append(UInt8(truncatingIfNeeded: v >> 8)); out.append(UInt8(truncatingIfNeeded: v))
            } else {
                out.append(UInt8(truncatingIfNeeded: v)); out.append(UInt8(truncatingIfNeeded: v >> 8))
                out.append(UInt8(truncatingIfNeeded: v >> 16)); out.append(UInt8(truncatingIfNeeded: v >> 24))
            }
        }
    }

    /// Stores a pixel value in the client's byte order and size at `p`; returns its size.
    @inline(__always)
    public func store(_ v: UInt32, at p: UnsafeMutableRawPointer) -> Int {
        switch format.bitsPerPixel {
        case 8:
            p.storeBytes(of: UInt8(truncatingIfNeeded: v), as: UInt8.self)
            return 1
        case 16:
            let w = UInt16(truncatingIfNeeded: v)
            p.storeBytes(of: format.bigEndian ? w.bigEndian : w.littleEndian, toByteOffset: 0, as: UInt16.self)
            return 2
        default:
            p.storeBytes(of: format.bigEndian ? v.bigEndian : v.littleEndian, toByteOffset: 0, as: UInt32.self)
            return 4
        }
    }

    /// Writes the pixels of `rect` from `frame` in the client's format, row by row (Raw),
    /// straight into the message buffer.
    public func appendRect(_ rect: RFBRect, of frame: FrameView, to out: inout ByteBuffer) {
        let bpp = format.bytesPerPixel
        out.reserveCapacity(minimumWritableBytes: rect.width * rect.height * bpp)
        for y in rect.y..<rect.y + rect.height {
            let row = y * frame.pitch + rect.x * 4
            if isIdentity {
                out.writeBytes(UnsafeRawBufferPointer(rebasing: frame.bytes[row..<row + rect.width * 4]))
                continue
            }
            out.writeWithUnsafeMutableBytes(minimumWritableBytes: rect.width * bpp) { dst in
                var o = 0
                for x in 0..<rect.width {
                    // SAFETY: `dst` has room for `rect.width * bpp` bytes; `o` stays below that.
                    o += store(value(frame.pixel(atOffset: row + x * 4)), at: dst.baseAddress! + o)
                }
                return o
            }
        }
    }
}
