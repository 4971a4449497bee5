import NIOCore

/// One screen of an ExtendedDesktopSize layout (RFB's `SCREEN`): a viewport into the
/// framebuffer, with an id the client and server map to a monitor.
public struct RFBScreen: Equatable, Sendable {
    public var id: UInt32
    public var x: Int, y: Int, width: Int, height: Int
    public var flags: UInt32
    public init(id: UInt32, x: Int, y: Int, width: Int, height: Int, flags: UInt32 = 0) {
        self.id = id; self.x = x; self.y = y; self.width = width; self.height = height; self.flags = flags
    }
    /// The 16 bytes of the screen on the wire.
    var wire: [UInt8] {
        var b = Self.be32(id)
        for v in [UInt16(x), UInt16(y), UInt16(width), UInt16(height)] { b += [UInt8(v >> 8), UInt8(v & 0xFF)] }
        return b + Self.be32(flags)
    }
    private static func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
}

/// ExtendedDesktopSize's *x-position*: why the layout is sent.
public enum DesktopSizeReason: UInt16, Sendable {
    /// The server changed it (the guest set a mode), or the client asked for the layout.
    case server = 0
    /// This client's SetDesktopSize (with a status).
    case thisClient = 1
    /// Another client's SetDesktopSize, which succeeded.
    case otherClient = 2
}

/// ExtendedDesktopSize's *y-position*: how a client's SetDesktopSize went.
public enum DesktopSizeStatus: UInt16, Sendable {
    case success = 0
    /// Resizing is turned off (`--fixed-mode`), or the guest does not follow display sizes.
    case prohibited = 1
    /// Larger than the largest mode the guest may set, or the guest set no mode in time.
    case outOfResources = 2
    /// No screen, a screen outside the framebuffer or empty, two screens with one id, or a
    /// size below the smallest mode.
    case invalidLayout = 3
}

/// What the display says to a client's SetDesktopSize.
public enum DesktopResizeAnswer: Equatable, Sendable {
    /// The guest was asked for the mode; the new size comes with a refresh (or not: see
    /// `RFBServerOptions.desktopResizeTimeout`).
    case asked
    /// The display already has that size.
    case unchanged
    /// Not asked: the status for the client and one line for the log.
    case refused(DesktopSizeStatus, String)
}

/// Who changes the display's size for a client's SetDesktopSize (the CLI adapts the machine:
/// a guest that follows display-size requests is asked for that mode, as the window does).
public protocol DesktopResizer: AnyObject, Sendable {
    /// Asks for a `width` x `height` display, from any thread, without blocking.
    func requestDesktopSize(width: Int, height: Int) -> DesktopResizeAnswer
}

/// A client's SetDesktopSize (message 251): the framebuffer size it wants and its layout.
public struct DesktopSizeRequest: Equatable, Sendable {
    public var width: Int, height: Int
    public var screens: [RFBScreen]
    public init(width: Int, height: Int, screens: [RFBScreen]) {
        self.width = width; self.height = height; self.screens = screens
    }

    /// Why the layout is invalid (status 3), or nil: at least one screen, each non-empty and
    /// inside the requested framebuffer, no id twice, and a framebuffer of at least 1x1.
    public var invalidity: String? {
        if width == 0 || height == 0 { return "a framebuffer of \(width)x\(height)" }
        if screens.isEmpty { return "no screen in the layout" }
        var ids = Set<UInt32>()
        for s in screens {
            if s.width == 0 || s.height == 0 { return "screen \(s.id) is \(s.width)x\(s.height)" }
            if s.x + s.width > width || s.y + s.height > height {
                return "screen \(s.id) (\(s.width)x\(s.height)+\(s.x)+\(s.y)) lies outside the \(width)x\(height) framebuffer"
            }
            if !ids.insert(s.id).inserted { return "screen id \(s.id) appears twice" }
        }
        return nil
    }
}

/// One ExtendedDesktopSize rectangle (pseudo-encoding -308): reason and status, the
/// framebuffer's size and its screens. An update holding one holds no pixels (RFB's rule).
public struct ExtendedDesktopSize: Equatable, Sendable {
    public var reason: DesktopSizeReason
    public var status: DesktopSizeStatus
    public var width: Int, height: Int
    public var screens: [RFBScreen]

    /// The server's own layout for a framebuffer: one screen over all of it.
    public static func single(width: Int, height: Int, reason: DesktopSizeReason, status: DesktopSizeStatus = .success) -> Self {
        Self(reason: reason, status: status, width: width, height: height,
             screens: [RFBScreen(id: 0, x: 0, y: 0, width: width, height: height)])
    }

    /// Writes the rectangle (header and layout) into `w`.
    func write(into w: inout UpdateWriter) {
        w.header(RFBRect(x: Int(reason.rawValue), y: Int(status.rawValue), width: width, height: height),
                 encoding: EncodingType.extendedDesktopSize)
        w.withBuffer { b in
            b.writeMultipleIntegers(UInt8(screens.count), UInt8(0), UInt16(0))
            for s in screens { b.writeBytes(s.wire) }
        }
    }

    /// One FramebufferUpdate of `rects` and nothing else.
    static func update(_ rects: [ExtendedDesktopSize], allocator: ByteBufferAllocator) -> ByteBuffer {
        var w = UpdateWriter(rectangles: rects.count, allocator: allocator)
        for r in rects { r.write(into: &w) }
        return w.finish()
    }
}
