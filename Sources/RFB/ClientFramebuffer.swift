#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Display

/// What one client has been sent: a copy of the pixels as of its last update, and the
/// tiles repainted since then that it has not had yet (`owed`). Comparing a dirty tile with
/// this copy finds the pixels that really changed, so a cursor move sends a cursor-sized
/// rectangle, not the whole page-wide band of tiles the dirty log marked. Memory: one frame
/// per client, allocated once (again only if the geometry changes). It reads a `FrameSnapshot`
/// shared by all clients, so none of this work holds off the display's refreshes.
public final class ClientFramebuffer {
    public private(set) var geometry: FramebufferGeometry
    private var sent: [UInt8]
    private var owed: DirtyTileBitmap
    /// Whether the geometry changed since the last update (the client must hear a DesktopSize).
    public private(set) var resized = false
    /// Send a shape far from its bounding box as its row spans when smaller raw (for Raw;
    /// ZRLE and Tight compress the box into less than the spans' headers cost them).
    public var rowSpans = true

    public init(geometry: FramebufferGeometry, tiles: Int) {
        self.geometry = geometry
        sent = [UInt8](repeating: 0, count: geometry.byteCount)
        owed = DirtyTileBitmap(count: tiles)
        owed.setAll()
    }

    /// Whether tiles repainted earlier are still owed to this client.
    public var owesTiles: Bool { !owed.isEmpty }

    /// From a snapshot taken with `dirty` (no lock needed): takes in `dirty`, compares every owed tile inside `region`
    /// with what the client was sent, copies what differs into the client's copy and
    /// returns the changed rectangles (never past the frame's edge), merged along rows.
    /// With `full` (a non-incremental request) the whole region is returned and copied.
    public func collect(frame: FrameView, dirty: DirtyTileBitmap, region requested: RFBRect, full: Bool) -> [RFBRect] {
        if frame.geometry != geometry || dirty.count != owed.count {
            geometry = frame.geometry
            sent = [UInt8](repeating: 0, count: geometry.byteCount)
            owed = DirtyTileBitmap(count: frame.grid.count)
            owed.setAll()
            resized = true
        } else {
            owed.formUnion(dirty)
        }
        let screen = RFBRect(x: 0, y: 0, width: geometry.width, height: geometry.height)
        let region = requested.intersection(screen)
        guard !region.isEmpty else { return [] }
        var rects: [RFBRect] = []
        let grid = frame.grid
        let pitch = geometry.pitch
        do {
            let src = frame.bytes.baseAddress!
            sent.withUnsafeMutableBytes { dst in
                var doneTiles: [Int] = []
                var spans: [RFBRect] = []
                owed.forEachSet { t in
                    let tr = grid.rect(ofTile: t)
                    let tileRect = RFBRect(x: tr.x, y: tr.y, width: tr.width, height: tr.height)
                    let r = tileRect.intersection(region)
                    guard !r.isEmpty else { return }
                    if r == tileRect { doneTiles.append(t) }
                    var minX = Int.max, maxX = -1, minY = Int.max, maxY = -1
                    spans.removeAll(keepingCapacity: true)
                    for y in r.y..<r.maxY {
                        let off = y * pitch + r.x * 4
                        // SAFETY: the slice is part of a visible row of the frame: inside both buffers (same geometry).
                        if memcmp(src + off, dst.baseAddress! + off, r.width * 4) == 0 { continue }
                        var first = 0, last = r.width - 1
                        while frame.pixel(atOffset: off + first * 4) == dst.loadUnaligned(fromByteOffset: off + first * 4, as: UInt32.self).littleEndian { first += 1 }
                        while frame.pixel(atOffset: off + last * 4) == dst.loadUnaligned(fromByteOffset: off + last * 4, as: UInt32.self).littleEndian { last -= 1 }
                        minX = min(minX, r.x + first); maxX = max(maxX, r.x + last)
                        minY = min(minY, y); maxY = y
                        spans.append(RFBRect(x: r.x + first, y: y, width: last - first + 1, height: 1))
                    }
                    guard maxX >= 0 else { return }
                    let changed = RFBRect(x: minX, y: minY, width: maxX - minX + 1, height: maxY - minY + 1)
                    copy(changed, from: src, to: dst)
                    // A shape far from its bounding box (a cursor's arrow) goes out as its rows'
                    // spans when they are smaller raw, counting a 12-byte rectangle header as 3
                    // pixels; rows with equal spans are joined.
                    var joined: [RFBRect] = []
                    for sp in spans {
                        if let l = joined.last, l.x == sp.x, l.width == sp.width, l.maxY == sp.y { joined[joined.count - 1].height += 1 } else { joined.append(sp) }
                    }
                    let spanCost = joined.reduce(0) { $0 + $1.width * $1.height + 3 }
                    if rowSpans && joined.count > 1 && spanCost < changed.width * changed.height + 3 {
                        rects += joined
                    } else {
                        rects.append(changed)
                    }
                }
                for t in doneTiles { owed.clear(t) }
                if full { copy(region, from: src, to: dst) }
            }
        }
        return full ? [region] : Self.merge(rects)
    }

    /// Lends the client's copy as a frame (what the next update encodes from).
    public func withSent<R>(grid: TileGrid, _ body: (FrameView) throws -> R) rethrows -> R {
        try sent.withUnsafeBytes { try body(FrameView(geometry: geometry, grid: grid, bytes: $0)) }
    }

    /// Clears `resized` once the client has been told.
    public func resizeAnnounced() { resized = false }

    private func copy(_ r: RFBRect, from src: UnsafeRawPointer, to dst: UnsafeMutableRawBufferPointer) {
        for y in r.y..<r.maxY {
            let off = y * geometry.pitch + r.x * 4
            // SAFETY: one visible row slice of `r`, which lies inside the frame: inside both buffers.
            (dst.baseAddress! + off).copyMemory(from: src + off, byteCount: r.width * 4)
        }
    }

    /// Joins rectangles that touch side by side with the same rows, or one above the other
    /// with the same columns (tiles are visited in row-major order).
    static func merge(_ input: [RFBRect]) -> [RFBRect] {
        var rows: [RFBRect] = []
        for r in input {
            if let last = rows.last, last.y == r.y, last.height == r.height, last.maxX == r.x {
                rows[rows.count - 1].width += r.width
            } else {
                rows.append(r)
            }
        }
        var out: [RFBRect] = []
        for r in rows {
            if let i = out.lastIndex(where: { $0.x == r.x && $0.width == r.width && $0.maxY == r.y }) {
                out[i].height += r.height
            } else {
                out.append(r)
            }
        }
        return out
    }
}
