import NIOCore

/// One message from a client after the handshake (RFC 6143 7.5).
public enum ClientMessage: Equatable, Sendable {
    case setPixelFormat(PixelFormat)
    case setEncodings([Int32])
    case updateRequest(incremental: Bool, RFBRect)
    case key(down: Bool, keysym: UInt32)
    case pointer(buttons: UInt8, x: Int, y: Int)
    /// QEMU's Extended Key Event (message 255, subtype 0): the keysym and the key's XT code
    /// (see `XTScancodes`).
    case extendedKey(down: Bool, keysym: UInt32, keycode: UInt32)
    /// ClientCutText: its text was skipped unread (only the length is kept).
    case cutText(length: UInt32)
    /// EnableContinuousUpdates (message 150): updates for `rect` follow the screen without
    /// requests (`enable`), or stop (the server then answers EndOfContinuousUpdates).
    case enableContinuousUpdates(enable: Bool, RFBRect)
    /// ClientFence (message 248): `flags` (see `FenceFlags`) and up to 64 bytes the reply echoes.
    case fence(flags: UInt32, payload: [UInt8])
    /// SetDesktopSize (message 251, ExtendedDesktopSize): the size and screen layout wanted.
    case setDesktopSize(DesktopSizeRequest)
}

/// Why a client was dropped: each case is one line for the log.
public enum RFBProtocolError: Error, Equatable, CustomStringConvertible {
    case notRFB(String)
    case unsupportedVersion(String)
    case badSecurityType(UInt8)
    case authenticationFailed
    /// Turned away by the server (the reason was sent to the client).
    case refused(String)
    case unknownMessage(UInt8)
    case unknownQEMUMessage(UInt8)
    case badPixelFormat(String)
    case tooManyEncodings(Int)
    case cutTextTooLong(UInt32)
    case fencePayloadTooLong(Int)
    /// A VeNCrypt step went wrong (a version, a subtype, X509Plain's lengths); what, in words.
    case vencrypt(String)

    public var description: String {
        switch self {
        case .notRFB(let s): return "not an RFB client: it sent \(s) instead of an 'RFB 003.00x' version"
        case .unsupportedVersion(let s): return "unsupported RFB version \(s) (this server speaks 3.3, 3.7 and 3.8)"
        case .badSecurityType(let t): return "security type \(t) was not offered (offered: the one listed)"
        case .authenticationFailed: return "VNC authentication failed: wrong password"
        case .refused(let why): return "refused: \(why)"
        case .unknownMessage(let t): return "unknown client message type \(t)"
        case .unknownQEMUMessage(let t): return "unknown QEMU client message subtype \(t) (only 0, Extended Key Event, is understood)"
        case .badPixelFormat(let why): return "SetPixelFormat refused: \(why)"
        case .tooManyEncodings(let n): return "SetEncodings with \(n) entries (at most \(ClientMessageParser.maxEncodings))"
        case .cutTextTooLong(let n): return "ClientCutText of \(n) bytes (at most \(ClientMessageParser.maxCutText))"
        case .fencePayloadTooLong(let n): return "ClientFence with a payload of \(n) bytes (at most \(ClientMessageParser.maxFencePayload))"
        case .vencrypt(let why): return "VeNCrypt: \(why)"
        }
    }
}

/// Reads client messages from a byte stream, message by message, never allocating more
/// than a message's fixed size: SetEncodings is bounded, and ClientCutText's text is
/// skipped as it arrives, whatever length it claims (up to `maxCutText`).
public struct ClientMessageParser: Sendable {
    /// Real clients send about 20 encodings; more than this is refused.
    public static let maxEncodings = 1024
    /// Longest ClientCutText accepted (and skipped unread); longer ones drop the client.
    public static let maxCutText: UInt32 = 16 << 20
    /// Longest Fence payload (RFB's Fence extension limits it to 64 bytes).
    public static let maxFencePayload = 64

    /// Bytes of a ClientCutText text still to skip.
    public private(set) var skipping: UInt64 = 0

    public init() {}

    /// The next whole message from `buffer` (consuming it), or nil when more bytes are needed
    /// (consuming nothing of a partial message, except cut text already skipped).
    public mutating func next(_ buffer: inout ByteBuffer) throws(RFBProtocolError) -> ClientMessage? {
        while true {
            if skipping > 0 {
                let n = Int(min(UInt64(buffer.readableBytes), skipping))
                buffer.moveReaderIndex(forwardBy: n)
                skipping -= UInt64(n)
                if skipping > 0 { return nil }
            }
            guard let type: UInt8 = buffer.getInteger(at: buffer.readerIndex) else { return nil }
            let available = buffer.readableBytes
            switch type {
            case 0:
                guard available >= 20 else { return nil }
                let bytes = buffer.getBytes(at: buffer.readerIndex + 4, length: 16)!
                let format = PixelFormat(wire: bytes)
                if let why = format.validate() { throw .badPixelFormat(why) }
                buffer.moveReaderIndex(forwardBy: 20)
                return .setPixelFormat(format)
            case 2:
                return try Self.setEncodings(&buffer)
            case 3:
                guard available >= 10 else { return nil }
                _ = buffer.readInteger(as: UInt8.self)
                let incremental = buffer.readInteger(as: UInt8.self)! != 0
                let x = buffer.readInteger(as: UInt16.self)!, y = buffer.readInteger(as: UInt16.self)!
                let w = buffer.readInteger(as: UInt16.self)!, h = buffer.readInteger(as: UInt16.self)!
                return .updateRequest(incremental: incremental, RFBRect(x: Int(x), y: Int(y), width: Int(w), height: Int(h)))
            case 4:
                guard available >= 8 else { return nil }
                _ = buffer.readInteger(as: UInt8.self)
                let down = buffer.readInteger(as: UInt8.self)! != 0
                buffer.moveReaderIndex(forwardBy: 2)
                return .key(down: down, keysym: buffer.readInteger(as: UInt32.self)!)
            case 5:
                guard available >= 6 else { return nil }
                _ = buffer.readInteger(as: UInt8.self)
                let buttons = buffer.readInteger(as: UInt8.self)!
                let x = buffer.readInteger(as: UInt16.self)!, y = buffer.readInteger(as: UInt16.self)!
                return .pointer(buttons: buttons, x: Int(x), y: Int(y))
            case 6:
                guard available >= 8 else { return nil }
                let length = buffer.getInteger(at: buffer.readerIndex + 4, as: UInt32.self)!
                if length > Self.maxCutText { throw .cutTextTooLong(length) }
                buffer.moveReaderIndex(forwardBy: 8)
                skipping = UInt64(length)
                if skipping > 0 {
                    let n = Int(min(UInt64(buffer.readableBytes), skipping))
                    buffer.moveReaderIndex(forwardBy: n)
                    skipping -= UInt64(n)
                }
                return .cutText(length: length)
            case 150, 248, 251, 255:
                return try Self.extensionMessage(type, &buffer)
            default:
                throw .unknownMessage(type)
            }
        }
    }

    /// SetEncodings (2) from `buffer`, or nil when more bytes are needed.
    private static func setEncodings(_ buffer: inout ByteBuffer) throws(RFBProtocolError) -> ClientMessage? {
        let available = buffer.readableBytes
        guard available >= 4 else { return nil }
        let count = Int(buffer.getInteger(at: buffer.readerIndex + 2, as: UInt16.self)!)
        if count > Self.maxEncodings { throw .tooManyEncodings(count) }
        guard available >= 4 + 4 * count else { return nil }
        buffer.moveReaderIndex(forwardBy: 4)
        var list: [Int32] = []
        list.reserveCapacity(count)
        for _ in 0..<count { list.append(buffer.readInteger(as: Int32.self)!) }
        return .setEncodings(list)
    }

    /// An extension's message: EnableContinuousUpdates (150), ClientFence (248),
    /// SetDesktopSize (251) or QEMU's (255).
    private static func extensionMessage(_ type: UInt8, _ buffer: inout ByteBuffer) throws(RFBProtocolError) -> ClientMessage? {
        switch type {
        case 251: return setDesktopSize(&buffer)
        case 255: return try qemuMessage(&buffer)
        default: return try continuousMessage(type, &buffer)
        }
    }

    /// SetDesktopSize (251) from `buffer`, or nil when more bytes are needed: at most 255
    /// screens of 16 bytes, so at most 4,088 bytes; the layout is checked by the connection
    /// (an invalid one is answered with status 3, not dropped).
    private static func setDesktopSize(_ buffer: inout ByteBuffer) -> ClientMessage? {
        let available = buffer.readableBytes
        guard available >= 8 else { return nil }
        let count = Int(buffer.getInteger(at: buffer.readerIndex + 6, as: UInt8.self)!)
        guard available >= 8 + 16 * count else { return nil }
        buffer.moveReaderIndex(forwardBy: 2)
        let width = Int(buffer.readInteger(as: UInt16.self)!), height = Int(buffer.readInteger(as: UInt16.self)!)
        buffer.moveReaderIndex(forwardBy: 2)
        var screens: [RFBScreen] = []
        screens.reserveCapacity(count)
        for _ in 0..<count {
            let id = buffer.readInteger(as: UInt32.self)!
            let x = buffer.readInteger(as: UInt16.self)!, y = buffer.readInteger(as: UInt16.self)!
            let w = buffer.readInteger(as: UInt16.self)!, h = buffer.readInteger(as: UInt16.self)!
            screens.append(RFBScreen(id: id, x: Int(x), y: Int(y), width: Int(w), height: Int(h), flags: buffer.readInteger(as: UInt32.self)!))
        }
        return .setDesktopSize(DesktopSizeRequest(width: width, height: height, screens: screens))
    }

    /// A QEMU client message (255); only subtype 0, Extended Key Event, is known.
    private static func qemuMessage(_ buffer: inout ByteBuffer) throws(RFBProtocolError) -> ClientMessage? {
        let available = buffer.readableBytes
        guard available >= 2 else { return nil }
        let subtype = buffer.getInteger(at: buffer.readerIndex + 1, as: UInt8.self)!
        guard subtype == 0 else { throw .unknownQEMUMessage(subtype) }
        guard available >= 12 else { return nil }
        buffer.moveReaderIndex(forwardBy: 2)
        let down = buffer.readInteger(as: UInt16.self)! != 0
        let keysym = buffer.readInteger(as: UInt32.self)!, keycode = buffer.readInteger(as: UInt32.self)!
        return .extendedKey(down: down, keysym: keysym, keycode: keycode)
    }

    /// EnableContinuousUpdates (150) or ClientFence (248) from `buffer`, or nil when more
    /// bytes are needed (a fence's length is checked before its payload arrives).
    private static func continuousMessage(_ type: UInt8, _ buffer: inout ByteBuffer) throws(RFBProtocolError) -> ClientMessage? {
        let available = buffer.readableBytes
        if type == 150 {
            guard available >= 10 else { return nil }
            _ = buffer.readInteger(as: UInt8.self)
            let enable = buffer.readInteger(as: UInt8.self)! != 0
            let x = buffer.readInteger(as: UInt16.self)!, y = buffer.readInteger(as: UInt16.self)!
            let w = buffer.readInteger(as: UInt16.self)!, h = buffer.readInteger(as: UInt16.self)!
            return .enableContinuousUpdates(enable: enable, RFBRect(x: Int(x), y: Int(y), width: Int(w), height: Int(h)))
        }
        guard available >= 9 else { return nil }
        let length = Int(buffer.getInteger(at: buffer.readerIndex + 8, as: UInt8.self)!)
        if length > maxFencePayload { throw .fencePayloadTooLong(length) }
        guard available >= 9 + length else { return nil }
        buffer.moveReaderIndex(forwardBy: 4)
        let flags = buffer.readInteger(as: UInt32.self)!
        buffer.moveReaderIndex(forwardBy: 1)
        return .fence(flags: flags, payload: buffer.readBytes(length: length)!)
    }
}
