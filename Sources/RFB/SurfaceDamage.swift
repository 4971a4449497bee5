import Display

/// Which pixels of the server surface changed, as dirty bits: for every pixel row, in columns
/// 64 pixels wide, the span `first...last` of pixels that changed (the hull, once several
/// changes are joined), and a bit per 64x16 block telling whether any row in it has a span.
///
/// This is what each client keeps instead of a copy of the frame (QEMU's `vs->dirty`, finer):
/// 2 bytes per row per column, 64 KiB at 1920x1080 whatever happens. The server surface
/// finds one refresh's changes once and joins them into every client's damage; a client
/// that reads every refresh gets exactly the changed pixels' bounds, a slow one the union.
public struct SurfaceDamage: Sendable, Equatable {
    public static let columnWidth = 64
    public static let blockHeight = 16

    public private(set) var width = 0
    public private(set) var height = 0
    /// Columns per row: `width` in 64-pixel columns.
    public private(set) var columns = 0
    /// A bit per 64x16 block (row-major: block row `y / 16`, column `x / 64`).
    public private(set) var blocks = DirtyTileBitmap(count: 0)
    /// Per row and column (`y * columns + column`): the first and last changed pixel within
    /// the column; `first > last` (0xFF, 0) when nothing changed in that row of the column.
    private var first: [UInt8] = []
    private var last: [UInt8] = []

    /// No damage, over a surface of `width` x `height`.
    public init(width: Int, height: Int) { reset(width: width, height: height) }

    /// Starts over, clean, for a surface of `width` x `height`.
    public mutating func reset(width: Int, height: Int) {
        self.width = max(0, width)
        self.height = max(0, height)
        columns = (self.width + Self.columnWidth - 1) / Self.columnWidth
        blocks = DirtyTileBitmap(count: columns * ((self.height + Self.blockHeight - 1) / Self.blockHeight))
        first = [UInt8](repeating: 0xFF, count: columns * self.height)
        last = [UInt8](repeating: 0, count: columns * self.height)
    }

    public var isEmpty: Bool { blocks.isEmpty }

    /// The memory these dirty bits take (spans and block bits), in bytes.
    public var byteCount: Int { first.count + last.count + blocks.words.count * 8 }

    /// Marks every pixel changed.
    public mutating func markAll() {
        guard columns > 0 else { return }
        blocks.setAll()
        let lastWidth = width - (columns - 1) * Self.columnWidth
        for y in 0..<height {
            for c in 0..<columns {
                first[y * columns + c] = 0
                last[y * columns + c] = UInt8((c == columns - 1 ? lastWidth : Self.columnWidth) - 1)
            }
        }
    }

    /// Marks pixels `x0...x1` of row `y` changed (all in one column).
    @inline(__always)
    public mutating func mark(row y: Int, from x0: Int, through x1: Int) {
        let c = x0 / Self.columnWidth
        precondition(y >= 0 && y < height && x0 <= x1 && x1 < width && x1 / Self.columnWidth == c, "span \(x0)...\(x1) of row \(y) outside one column")
        let i = y * columns + c, base = c * Self.columnWidth
        first[i] = min(first[i], UInt8(x0 - base))
        last[i] = max(last[i], UInt8(x1 - base))
        blocks.set((y / Self.blockHeight) * columns + c)
    }

    /// Adds every change in `other` (same size) to this damage: per row and column the hull.
    /// Costs only `other`'s dirty blocks.
    public mutating func formUnion(_ other: SurfaceDamage) {
        precondition(other.width == width && other.height == height, "damage of \(other.width)x\(other.height) joined into \(width)x\(height)")
        let columns = self.columns, height = self.height
        first.withUnsafeMutableBufferPointer { f in
            last.withUnsafeMutableBufferPointer { l in
                other.first.withUnsafeBufferPointer { of in
                    other.last.withUnsafeBufferPointer { ol in
                        other.blocks.forEachSet { b in
                            let c = b % columns, y0 = (b / columns) * Self.blockHeight
                            for y in y0..<min(y0 + Self.blockHeight, height) {
                                let i = y * columns + c
                                if of[i] < f[i] { f[i] = of[i] }
                                if ol[i] > l[i] { l[i] = ol[i] }
                            }
                        }
                    }
                }
            }
        }
        blocks.formUnion(other.blocks)
    }

    /// Forgets every change (costs only the dirty blocks).
    public mutating func clearAll() {
        let blocks = self.blocks
        blocks.forEachSet { clear(block: $0) }
        self.blocks.clearAll()
    }

    /// Calls `body` with every changed span as (row, first x, last x), block by block.
    public func forEachSpan(_ body: (Int, Int, Int) -> Void) {
        blocks.forEachSet { b in
            let c = b % columns, y0 = (b / columns) * Self.blockHeight
            for y in y0..<min(y0 + Self.blockHeight, height) {
                let i = y * columns + c
                if first[i] <= last[i] { body(y, c * Self.columnWidth + Int(first[i]), c * Self.columnWidth + Int(last[i])) }
            }
        }
    }

    private mutating func clear(block b: Int) {
        let c = b % columns, y0 = (b / columns) * Self.blockHeight
        for y in y0..<min(y0 + Self.blockHeight, height) {
            first[y * columns + c] = 0xFF
            last[y * columns + c] = 0
        }
    }
}

extension SurfaceDamage {
    /// The rectangles to send for `region` (never past the surface's edge), and forgets what
    /// they cover: per dirty block, the bounds of its changed pixels inside `region`, or,
    /// with `rowSpans`, its rows' spans when a shape far from its bounds (a pointer's arrow)
    /// costs less that way raw (counting a 12-byte rectangle header as 3 pixels). Rows with
    /// equal spans are joined; rectangles are merged along rows and columns. A row whose span
    /// lies partly outside `region` stays owed whole.
    public mutating func take(region requested: RFBRect, rowSpans: Bool) -> [RFBRect] {
        let region = requested.intersection(RFBRect(x: 0, y: 0, width: width, height: height))
        guard !region.isEmpty, !isEmpty else { return [] }
        var rects: [RFBRect] = []
        var spans: [RFBRect] = []
        var done = DirtyTileBitmap(count: blocks.count)
        let columns = self.columns, height = self.height, words = blocks.words
        let (rx0, rx1, ry0, ry1) = (region.x, region.maxX - 1, region.y, region.maxY - 1)
        first.withUnsafeMutableBufferPointer { f in
            last.withUnsafeMutableBufferPointer { l in
                for (w, word) in words.enumerated() {
                    var bits = word
                    while bits != 0 {
                        let b = w << 6 | bits.trailingZeroBitCount
                        bits &= bits &- 1
                        let c = b % columns, y0 = (b / columns) * Self.blockHeight, base = c * Self.columnWidth
                        let y1 = min(y0 + Self.blockHeight, height) - 1
                        guard base <= rx1, base + Self.columnWidth > rx0, y0 <= ry1, y1 >= ry0 else { continue }
                        var minX = Int.max, maxX = -1, minY = -1, maxY = -1, owed = false
                        spans.removeAll(keepingCapacity: true)
                        for y in y0...y1 {
                            let i = y * columns + c
                            guard f[i] <= l[i] else { continue }
                            let x0 = base + Int(f[i]), x1 = base + Int(l[i])
                            let sx0 = max(x0, rx0), sx1 = min(x1, rx1)
                            guard y >= ry0, y <= ry1, sx0 <= sx1 else { owed = true; continue }
                            if sx0 == x0 && sx1 == x1 { f[i] = 0xFF; l[i] = 0 } else { owed = true }
                            minX = min(minX, sx0); maxX = max(maxX, sx1); maxY = y
                            if minY < 0 { minY = y }
                            if rowSpans { Self.join(RFBRect(x: sx0, y: y, width: sx1 - sx0 + 1, height: 1), into: &spans) }
                        }
                        if !owed { done.set(b) }
                        guard maxX >= 0 else { continue }
                        let bounds = RFBRect(x: minX, y: minY, width: maxX - minX + 1, height: maxY - minY + 1)
                        let spanCost = spans.reduce(0) { $0 + $1.width * $1.height + 3 }
                        if spans.count > 1 && spanCost < bounds.width * bounds.height + 3 { rects += spans } else { rects.append(bounds) }
                    }
                }
            }
        }
        done.forEachSet { blocks.clear($0) }
        return Self.merge(rects)
    }

    /// Appends a one-row span, joined to the last one when it has the same columns and lies
    /// just below it.
    @inline(__always)
    private static func join(_ sp: RFBRect, into spans: inout [RFBRect]) {
        if let l = spans.last, l.x == sp.x, l.width == sp.width, l.maxY == sp.y { spans[spans.count - 1].height += 1 } else { spans.append(sp) }
    }

    /// Joins rectangles that touch side by side with the same rows, or one above the other
    /// with the same columns (blocks are visited in row-major order).
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
