/// RFB encoding numbers (RFC 6143 7.7 and the community registry).
public enum EncodingType {
    public static let raw: Int32 = 0
    public static let copyRect: Int32 = 1
    public static let tight: Int32 = 7
    public static let zrle: Int32 = 16
    public static let desktopSize: Int32 = -223
    public static let lastRect: Int32 = -224
}

/// Which of its encodings a client gets: the first of Tight, ZRLE and Raw in the client's
/// own order of preference (Raw when it lists none of them), and which pseudo-encodings it
/// understands.
public struct EncodingChoice: Equatable, Sendable {
    public var encoding: Int32 = EncodingType.raw
    public var desktopSize = false
    public var lastRect = false

    public init() {}

    public init(clientList: [Int32]) {
        encoding = clientList.first { [EncodingType.tight, EncodingType.zrle, EncodingType.raw].contains($0) } ?? EncodingType.raw
        desktopSize = clientList.contains(EncodingType.desktopSize)
        lastRect = clientList.contains(EncodingType.lastRect)
    }

    public var name: String {
        switch encoding {
        case EncodingType.tight: return "Tight"
        case EncodingType.zrle: return "ZRLE"
        default: return "Raw"
        }
    }
}

/// Builds one FramebufferUpdate message: its header, then rectangles.
public struct UpdateWriter {
    public private(set) var bytes: [UInt8] = []
    public private(set) var rectangles = 0
    private let countOffset: Int
    private let lastRect: Bool

    /// With `lastRect`, the count is written as 0xFFFF and `finish` appends a LastRect; else
    /// `finish` fills in the real count.
    public init(lastRect: Bool = false, reserve: Int = 0) {
        bytes.reserveCapacity(reserve + 4)
        bytes += [0, 0, 0, 0]
        countOffset = 2
        self.lastRect = lastRect
    }

    /// Appends a rectangle header; the caller appends its data.
    public mutating func header(_ r: RFBRect, encoding: Int32) {
        appendU16(UInt16(r.x), to: &bytes); appendU16(UInt16(r.y), to: &bytes)
        appendU16(UInt16(r.width), to: &bytes); appendU16(UInt16(r.height), to: &bytes)
        appendI32(encoding, to: &bytes)
        rectangles += 1
    }

    public mutating func append(_ data: [UInt8]) { bytes += data }

    /// Gives access to the message bytes for an encoder that appends in place.
    public mutating func withBytes<R>(_ body: (inout [UInt8]) -> R) -> R { body(&bytes) }

    /// The finished message.
    public mutating func finish() -> [UInt8] {
        if lastRect {
            header(RFBRect(x: 0, y: 0, width: 0, height: 0), encoding: EncodingType.lastRect)
            bytes[countOffset] = 0xFF; bytes[countOffset + 1] = 0xFF
        } else {
            precondition(rectangles <= 0xFFFF, "more than 65535 rectangles in one update without LastRect")
            bytes[countOffset] = UInt8(rectangles >> 8); bytes[countOffset + 1] = UInt8(rectangles & 0xFF)
        }
        return bytes
    }
}
