import Dispatch
import Display
import NIOCore

/// One client's updates: its pixel format and encoding, its encoders' streams, where its
/// picture is lossy (Tight JPEG) for the lossless refresh, and the update being written.
///
/// An update is cut into pieces of at most 64 Ki pixels up front (so its rectangle
/// count is known), and written piece by piece straight into `ByteBuffer`s that go out in
/// slices: a long update to a slow client pauses between pieces while the socket is full and
/// goes on later from the surface's newest frame (the pieces still to come are owed anyway;
/// pixels newer than the damage they were cut for are only more up to date). So a paused
/// client holds no frame, and memory per client stays about a slice whatever the frame size.
/// Event-loop confined (or one thread, in the benchmark).
public final class UpdateEncoder {
    public var translator = PixelTranslator(format: .guestNative)
    public var choice = EncodingChoice()
    /// Where this client's picture is JPEG-lossy, for the lossless refresh once it goes quiet.
    public var lossy = LossyRegions()
    /// Whether the next update starts with the QEMU Extended Key Event rectangle that tells
    /// the client its XT key codes are understood (set when it announces the pseudo-encoding).
    public var extendedKeyAckDue = false
    /// The cursor pseudo-encodings the client announced, what it has been shown of the cursor
    /// plane, and the cursor part of the next update (`planCursor`; see `CursorUpdate.swift`).
    public private(set) var cursorSupport = CursorEncoding.Support()
    var clientCursor = ClientCursor()
    public var cursor = CursorPlan()
    /// Rectangles sent as JPEG, and lossless refreshes sent.
    public private(set) var jpegRects = 0, refreshes = 0
    private var zrle: ZRLEEncoder?
    private var tight: TightEncoder?

    struct Piece {
        var rect: RFBRect
        var lossyAllowed: Bool
    }

    struct InProgress {
        var pieces: [Piece]
        var next = 0
        var writer: UpdateWriter
        let geometry: FramebufferGeometry
        let now: UInt64
        /// The format and encoding the update began with: a SetPixelFormat or SetEncodings
        /// that arrives while it is written applies from the next update on.
        let translator: PixelTranslator
        let choice: EncodingChoice
        /// The cursor composited into this update's pixels (clients without cursor support).
        let overlay: CursorState?
    }

    private var inProgress: InProgress?

    public init() {}

    /// A SetEncodings' cursor pseudo-encodings: a change brings the client's cursor up to date again.
    public func setCursorSupport(_ support: CursorEncoding.Support) {
        if support != cursorSupport { clientCursor.generation = .max }
        cursorSupport = support
    }

    /// Plans the cursor part of the next update from the plane `plane`; returns whether that
    /// alone owes the client an update.
    public func planCursor(_ plane: (state: CursorState?, generation: UInt64)) -> Bool {
        cursor = clientCursor.due(plane.state, generation: plane.generation, support: cursorSupport)
        return cursor.owesUpdate
    }

    /// Whether an update has begun and not all of it is written.
    public var isWriting: Bool { inProgress != nil }

    /// Send a shape far from its bounds as its row spans (Raw only: ZRLE and Tight compress
    /// the bounds into less than the spans' headers cost them).
    public var rowSpans: Bool { choice.encoding == EncodingType.raw }

    /// Begins an update of `take` at `now` (uptime ns): its changed rectangles (JPEG allowed
    /// when `incremental`: the area is moving), then the lossy areas that have gone quiet,
    /// exactly, and a DesktopSize first when the geometry changed and the client understands it
    /// (and not ExtendedDesktopSize, which goes in an update of its own: see `wake`).
    public func begin(_ take: ServerSurface.Take, incremental: Bool, now: UInt64, allocator: ByteBufferAllocator = ByteBufferAllocator()) {
        let g = take.frame.geometry
        lossy.fit(width: g.width, height: g.height)
        let screen = RFBRect(x: 0, y: 0, width: g.width, height: g.height)
        var changed = take.rects + cursor.damage.map { $0.intersection(screen) }.filter { !$0.isEmpty }
        if changed.count > 60000 { changed = [Self.bounds(changed)] }
        var pieces = changed.flatMap { r in split(r).map { Piece(rect: $0, lossyAllowed: incremental) } }
        let refresh = lossy.takeDue(now: now)
        if !refresh.isEmpty { refreshes += 1 }
        pieces += refresh.flatMap { r in split(r).map { Piece(rect: $0, lossyAllowed: false) } }
        // A client with ExtendedDesktopSize was told in an update of its own, before this one.
        let resize = take.resized && choice.desktopSize && !choice.extendedDesktopSize
        let ack = extendedKeyAckDue
        extendedKeyAckDue = false
        let plan = cursor
        cursor = CursorPlan()
        clientCursor.sent(plan)
        let pseudo = (resize ? 1 : 0) + (ack ? 1 : 0) + plan.pseudoCount
        let lastRect = choice.lastRect && choice.encoding == EncodingType.tight
        if !lastRect && pieces.count + pseudo > 0xFFFF {
            pieces = split(Self.bounds(pieces.map(\.rect))).map { Piece(rect: $0, lossyAllowed: incremental) }
        }
        var w = UpdateWriter(lastRect: lastRect, rectangles: pieces.count + pseudo, allocator: allocator)
        if resize { w.header(RFBRect(x: 0, y: 0, width: g.width, height: g.height), encoding: EncodingType.desktopSize) }
        // As QEMU sends it: the screen's size, no pixels.
        if ack { w.header(RFBRect(x: 0, y: 0, width: g.width, height: g.height), encoding: EncodingType.qemuExtendedKeyEvent) }
        plan.writePseudo(&w, translator: translator)
        inProgress = InProgress(pieces: pieces, writer: w, geometry: g, now: now, translator: translator, choice: choice, overlay: plan.overlay)
    }

    /// Writes pieces of the update in progress from `frame`, handing `send` a slice whenever
    /// `sliceBytes` have gathered (`last` with the end of the update), and stops early when
    /// `canContinue` turns false after a piece. Returns whether the update is complete.
    public func resume(from frame: FrameSnapshot, sliceBytes: Int, canContinue: () -> Bool,
                       send: (_ slice: ByteBuffer, _ last: Bool) -> Void) -> Bool {
        guard var u = inProgress else { return true }
        inProgress = nil
        frame.withFrame { f in
            let screen = RFBRect(x: 0, y: 0, width: f.width, height: f.height)
            while u.next < u.pieces.count {
                var p = u.pieces[u.next]
                // The frame changed size while this update waited: what lies outside the new
                // frame is sent as its top-left pixel (the count was promised; the client is
                // owed the whole new screen after this update anyway).
                if f.geometry != u.geometry {
                    p.rect = p.rect.intersection(screen)
                    if p.rect.isEmpty { p.rect = RFBRect(x: 0, y: 0, width: 1, height: 1) }
                }
                CursorPlan.withComposited(u.overlay, p.rect, of: f) { src, view in
                    encode(p, src, of: view, into: &u.writer, translator: u.translator, choice: u.choice, now: u.now)
                }
                u.next += 1
                if u.writer.pendingBytes >= sliceBytes && u.next < u.pieces.count { send(u.writer.takeSlice(), false) }
                if u.next < u.pieces.count && !canContinue() { break }
            }
        }
        guard u.next == u.pieces.count else {
            inProgress = u
            return false
        }
        send(u.writer.finish(), true)
        return true
    }

    /// The whole update of `take` as one buffer (for the benchmark and tests).
    public func encodeWhole(_ take: ServerSurface.Take, incremental: Bool, now: UInt64) -> ByteBuffer {
        begin(take, incremental: incremental, now: now)
        var out = ByteBufferAllocator().buffer(capacity: 0)
        _ = resume(from: take.frame, sliceBytes: .max, canContinue: { true }) { slice, _ in
            var s = slice
            out.writeBuffer(&s)
        }
        return out
    }

    /// `r` cut into the pieces its encoding writes as separate rectangles: Tight's limits
    /// (2048 wide, 64 Ki pixels); ZRLE in 1024x64 pieces on its own 64x64 tile grid (so its
    /// tiles stay those of the whole rectangle); Raw in bands of at most 64 Ki pixels.
    func split(_ r: RFBRect) -> [RFBRect] {
        switch choice.encoding {
        case EncodingType.tight: return TightEncoder.split(r)
        case EncodingType.zrle: return Self.grid(r, width: 1024, height: 64)
        default: return Self.grid(r, width: r.width, height: max(1, 65536 / max(1, r.width)))
        }
    }

    static func grid(_ r: RFBRect, width: Int, height: Int) -> [RFBRect] {
        var out: [RFBRect] = []
        var y = r.y
        while y < r.maxY {
            var x = r.x
            while x < r.maxX {
                out.append(RFBRect(x: x, y: y, width: min(width, r.maxX - x), height: min(height, r.maxY - y)))
                x += width
            }
            y += height
        }
        return out
    }

    /// Writes piece `p`, its pixels read from `src` in `frame` (`p.rect` itself, or the same
    /// pixels in a composited copy).
    private func encode(_ p: Piece, _ src: RFBRect, of frame: FrameView, into w: inout UpdateWriter, translator: PixelTranslator,
                        choice: EncodingChoice, now: UInt64) {
        let r = p.rect
        switch choice.encoding {
        case EncodingType.zrle:
            let z = zrle ?? ZRLEEncoder()
            zrle = z
            w.header(r, encoding: EncodingType.zrle)
            w.withBuffer { z.encode(src, of: frame, translator: translator, into: &$0) }
        case EncodingType.tight:
            let t = tight ?? TightEncoder()
            tight = t
            t.jpeg = choice.jpeg
            w.header(r, encoding: EncodingType.tight)
            let jpeg = w.withBuffer { t.encode(src, of: frame, translator: translator, into: &$0, lossy: p.lossyAllowed) }
            if jpeg { jpegRects += 1 }
            if jpeg || !lossy.isEmpty { lossy.sent(r, lossy: jpeg, now: now) }
        default:
            w.header(r, encoding: EncodingType.raw)
            w.withBuffer { translator.appendRect(src, of: frame, to: &$0) }
        }
    }

    static func bounds(_ rects: [RFBRect]) -> RFBRect {
        let x0 = rects.map(\.x).min()!, y0 = rects.map(\.y).min()!
        return RFBRect(x: x0, y: y0, width: rects.map(\.maxX).max()! - x0, height: rects.map(\.maxY).max()! - y0)
    }
}
