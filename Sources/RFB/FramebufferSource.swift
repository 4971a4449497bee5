import Display

/// A rectangle of the framebuffer in RFB's terms (x, y, width, height in pixels).
public struct RFBRect: Equatable, Sendable, CustomStringConvertible {
    public var x: Int, y: Int, width: Int, height: Int
    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x; self.y = y; self.width = width; self.height = height
    }
    public var maxX: Int { x + width }
    public var maxY: Int { y + height }
    public var isEmpty: Bool { width <= 0 || height <= 0 }
    /// The part of this rectangle inside `other` (possibly empty).
    public func intersection(_ other: RFBRect) -> RFBRect {
        let x0 = max(x, other.x), y0 = max(y, other.y)
        let x1 = min(maxX, other.maxX), y1 = min(maxY, other.maxY)
        return RFBRect(x: x0, y: y0, width: max(0, x1 - x0), height: max(0, y1 - y0))
    }
    public var description: String { "\(width)x\(height)+\(x)+\(y)" }
}

/// Borrowed pixels of a frame (XRGB8888, little-endian, rows `pitch` bytes apart): the
/// guest's shadow under the source's lock, or a `FrameSnapshot`. Valid only inside the call
/// that lends it.
public struct FrameView {
    public let geometry: FramebufferGeometry
    public let grid: TileGrid
    public let bytes: UnsafeRawBufferPointer
    public init(geometry: FramebufferGeometry, grid: TileGrid, bytes: UnsafeRawBufferPointer) {
        precondition(bytes.count >= geometry.byteCount, "frame bytes shorter than the geometry")
        self.geometry = geometry
        self.grid = grid
        self.bytes = bytes
    }
    public var pitch: Int { geometry.pitch }
    public var width: Int { geometry.width }
    public var height: Int { geometry.height }
    @inline(__always)
    public func pixel(atOffset offset: Int) -> UInt32 {
        UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }
    @inline(__always)
    public func pixel(x: Int, y: Int) -> UInt32 { pixel(atOffset: y * pitch + x * 4) }
}

/// What the RFB server needs from the display: a name, the geometry, a reader of the damage
/// (the tiles repainted since that reader last read) with the pixels, and a call after every
/// refresh. The RFB target knows nothing of how the damage was found; the `VNCTracking`
/// target adapts a tracking session to this.
public protocol FramebufferSource: AnyObject, Sendable {
    /// The desktop name sent in ServerInit.
    var desktopName: String { get }
    /// The current geometry (ServerInit and DesktopSize).
    var geometry: FramebufferGeometry { get }
    /// A new reader whose first read returns every tile. The server makes one, for its surface.
    func makeReader(name: String) -> any FramebufferReader
    /// Registers `body`, called (on any thread, briefly: it must not block) after every
    /// refresh that repainted something.
    func onChange(_ body: @escaping @Sendable () -> Void)
    /// The guest's cursor plane as of the last refresh (nil: none), with a generation that
    /// moves whenever it changes; a change also calls the `onChange` observers.
    var cursor: (state: CursorState?, generation: UInt64) { get }
}

extension FramebufferSource {
    /// The guest's cursor plane and its generation (moves at every change): none by default.
    public var cursor: (state: CursorState?, generation: UInt64) { (nil, 0) }
}

/// A cursor on the display's damage.
public protocol FramebufferReader: AnyObject, Sendable {
    /// Under the source's lock: lends `body` the frame and exactly the tiles repainted since
    /// this reader last read (every tile on the first read), and moves the reader to now.
    /// `body` copies what it needs (the server surface: those tiles, once for every client)
    /// and returns; it must not block or call back into the source.
    func read(_ body: (FrameView, DirtyTileBitmap) -> Void)
}
