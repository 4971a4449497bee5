import Display
import NIOCore

/// Cursor pseudo-encodings.
public enum CursorEncoding {
    /// Cursor (RFC 6143 7.8.1, "rich cursor"): the shape in the client's pixel format and a
    /// 1-bit mask; the rectangle's x, y are the hot spot.
    public static let cursor: Int32 = -239
    /// VMware cursor position: an empty rectangle at the cursor's hot spot position.
    public static let vmwareCursorPosition: Int32 = 0x574D_5666

    /// Which of them a client announced in its SetEncodings.
    public struct Support: Equatable, Sendable {
        public var shape = false
        public var position = false
        public init() {}
        public init(clientList: [Int32]) {
            shape = clientList.contains(CursorEncoding.cursor)
            position = clientList.contains(CursorEncoding.vmwareCursorPosition)
        }
    }

    /// The Cursor rectangle's data for `c` (header not included): width x height pixels in
    /// `translator`'s format (alpha dropped), then the mask, a bit per pixel, rows padded to a
    /// byte, most significant bit first: set where alpha is at least 128. A hidden cursor is
    /// one transparent pixel.
    public static func appendShape(_ c: CursorState?, translator: PixelTranslator, to out: inout ByteBuffer) {
        guard let c, c.visible else {
            translator.appendPixels([0], width: 1, height: 1, to: &out)
            out.writeInteger(UInt8(0))
            return
        }
        let s = c.shape
        translator.appendPixels(s.pixels.map { $0 & 0x00FF_FFFF }, width: s.width, height: s.height, to: &out)
        let rowBytes = (s.width + 7) / 8
        for y in 0..<s.height {
            var row = [UInt8](repeating: 0, count: rowBytes)
            for x in 0..<s.width where s.argb(x: x, y: y) >> 24 >= 128 { row[x / 8] |= 0x80 >> UInt8(x % 8) }
            out.writeBytes(row)
        }
    }

    /// The Cursor rectangle's header: hot spot, size (1x1 when hidden).
    public static func shapeRect(_ c: CursorState?) -> RFBRect {
        guard let c, c.visible else { return RFBRect(x: 0, y: 0, width: 1, height: 1) }
        return RFBRect(x: c.shape.hotX, y: c.shape.hotY, width: c.shape.width, height: c.shape.height)
    }
}

extension PixelTranslator {
    /// XRGB8888 pixels (row-major, `width` a row) in this format.
    func appendPixels(_ pixels: [UInt32], width: Int, height: Int, to out: inout ByteBuffer) {
        let g = FramebufferGeometry(width: width, height: height, pitch: width * 4)
        pixels.withUnsafeBytes { bytes in
            let frame = FrameView(geometry: g, grid: TileGrid(geometry: g, tile: TileSize(width: 64, height: 64)), bytes: bytes)
            appendRect(RFBRect(x: 0, y: 0, width: width, height: height), of: frame, to: &out)
        }
    }
}

/// What one client has been shown of the cursor plane, and what its next update owes it.
/// A client that announced the Cursor pseudo-encoding gets the shape (and, with the position
/// pseudo-encoding, the position) as pseudo-rectangles; any other client gets the cursor
/// composited into the pixels it is sent, so a change marks the old and new place dirty.
/// Event-loop confined.
struct ClientCursor {
    /// What a shape rectangle showed: a new one is owed when this differs.
    struct ShapeKey: Equatable {
        var serial: UInt32, visible: Bool, hotX: Int, hotY: Int, width: Int, height: Int
        init(_ s: CursorState?) {
            guard let s, s.visible else {
                (serial, visible, hotX, hotY, width, height) = (0, false, 0, 0, 0, 0)
                return
            }
            (serial, visible, hotX, hotY) = (s.shape.serial, true, s.shape.hotX, s.shape.hotY)
            (width, height) = (s.shape.width, s.shape.height)
        }
    }

    /// The cursor generation this client was last brought up to.
    var generation: UInt64 = .max
    /// Cursor clients: the shape and the position sent.
    var sentShape: ShapeKey?
    var sentPosition: (x: Int, y: Int)?
    /// The last position the client itself reported (PointerEvent): not sent back to it.
    var clientPointer: (x: Int, y: Int)?
    /// Other clients: where the composited cursor is in the picture they have.
    var drawn: TileRect?

    /// What the next update owes for the plane at `generation`: for `plan`, the pseudo-rectangles
    /// and, for a client without cursor support, the areas to send again and the overlay.
    func due(_ state: CursorState?, generation g: UInt64, support: CursorEncoding.Support) -> CursorPlan {
        var d = CursorPlan()
        if !support.shape { d.overlay = state.flatMap { $0.visible ? $0 : nil } }
        guard g != generation else { return d }
        if support.shape {
            // A guest without a plane leaves the client's own cursor alone until it sets one.
            if state != nil || sentShape != nil, sentShape != ShapeKey(state) { d.shape = .some(state) }
            if support.position, let s = state, s.visible, sentPosition.map({ $0 != (s.x, s.y) }) ?? true,
               clientPointer.map({ $0 != (s.x, s.y) }) ?? true {
                d.position = (s.x, s.y)
            }
        } else {
            let now = d.overlay.map(\.bounds)
            if now != drawn {
                for r in [drawn, now].compactMap({ $0 }) { d.damage.append(RFBRect(x: r.x, y: r.y, width: r.width, height: r.height)) }
            }
        }
        d.generation = g
        return d
    }

    /// Records that an update carrying `d` began.
    mutating func sent(_ d: CursorPlan) {
        guard let g = d.generation else { return }
        generation = g
        if let s = d.shape { sentShape = ShapeKey(s) }
        if let p = d.position { sentPosition = p }
        drawn = d.overlay.map(\.bounds)
    }
}

/// The cursor part of one update: pseudo-rectangles to write first, areas to send again, and
/// the cursor to composite into the pixels (clients without cursor support).
public struct CursorPlan {
    /// A Cursor rectangle with this state (`.some(nil)`: hidden).
    var shape: CursorState??
    var position: (x: Int, y: Int)?
    var damage: [RFBRect] = []
    var overlay: CursorState?
    /// The generation this plan brings the client to (nil: nothing changed).
    var generation: UInt64?

    public init() {}
    var pseudoCount: Int { (shape != nil ? 1 : 0) + (position != nil ? 1 : 0) }
    /// Whether the update has anything to send for the cursor.
    var owesUpdate: Bool { shape != nil || position != nil || !damage.isEmpty }

    func writePseudo(_ w: inout UpdateWriter, translator: PixelTranslator) {
        if let shape {
            w.header(CursorEncoding.shapeRect(shape), encoding: CursorEncoding.cursor)
            w.withBuffer { CursorEncoding.appendShape(shape, translator: translator, to: &$0) }
        }
        if let p = position {
            w.header(RFBRect(x: max(0, min(p.x, 0xFFFF)), y: max(0, min(p.y, 0xFFFF)), width: 0, height: 0), encoding: CursorEncoding.vmwareCursorPosition)
        }
    }

    /// Encodes `r` through `encode` from `frame` with the overlay composited, when it covers
    /// part of `r`: from a copy of `r`'s pixels (guest pixels are never written).
    static func withComposited(_ overlay: CursorState?, _ r: RFBRect, of frame: FrameView, _ encode: (RFBRect, FrameView) -> Void) {
        guard let o = overlay else { return encode(r, frame) }
        let b = o.bounds
        guard b.x < r.maxX, b.maxX > r.x, b.y < r.maxY, b.maxY > r.y else { return encode(r, frame) }
        let g = FramebufferGeometry(width: r.width, height: r.height, pitch: r.width * 4)
        var patch = [UInt8](repeating: 0, count: g.byteCount)
        patch.withUnsafeMutableBytes { dst in
            for y in 0..<r.height {
                // SAFETY: r lies inside the frame (the encoder clips pieces to it); a row of r.width pixels fits both.
                dst.baseAddress!.advanced(by: y * g.pitch).copyMemory(from: frame.bytes.baseAddress!.advanced(by: (r.y + y) * frame.pitch + r.x * 4),
                                                                    byteCount: g.pitch)
            }
            o.composite(into: dst.baseAddress!, originX: r.x, originY: r.y, width: r.width, height: r.height, pitch: g.pitch)
            let view = FrameView(geometry: g, grid: TileGrid(geometry: g, tile: frame.grid.tile), bytes: UnsafeRawBufferPointer(dst))
            encode(RFBRect(x: 0, y: 0, width: r.width, height: r.height), view)
        }
    }
}
