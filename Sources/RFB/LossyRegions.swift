/// Where one client's picture is lossy (sent as JPEG) and since when, so that an area that
/// has gone quiet can be sent again losslessly and the client ends pixel-exact (QEMU's
/// "lossless refresh"). The screen is cut into `cell`-pixel squares; a cell is marked when a
/// JPEG covers part of it, its clock restarts whenever anything is sent over it while marked,
/// and a marked cell nothing was sent over for `quiet` nanoseconds is due for a refresh.
public struct LossyRegions: Sendable {
    public static let cell = 64
    /// How long an area stays untouched before its lossless refresh (1 s).
    public static let defaultQuiet: UInt64 = 1_000_000_000

    public let quiet: UInt64
    private var width = 0, height = 0, columns = 0, rows = 0
    /// Per cell: when it was last sent over while lossy, or nil when it is exact.
    private var since: [UInt64?] = []
    private var marked = 0

    public init(quiet: UInt64 = LossyRegions.defaultQuiet) { self.quiet = quiet }

    /// Whether no area is lossy.
    public var isEmpty: Bool { marked == 0 }

    /// Starts over for a new geometry (the whole screen is sent again anyway).
    public mutating func fit(width: Int, height: Int) {
        if width != self.width || height != self.height { reset(width: width, height: height) }
    }

    /// Forgets everything.
    public mutating func reset(width: Int, height: Int) {
        self.width = width; self.height = height
        columns = (width + Self.cell - 1) / Self.cell
        rows = (height + Self.cell - 1) / Self.cell
        since = Array(repeating: nil, count: columns * rows)
        marked = 0
    }

    /// Records that `r` was sent at `now`, lossy or exact. An exact rectangle that covers a
    /// whole cell makes it exact; one that covers part of a lossy cell restarts its clock.
    public mutating func sent(_ r: RFBRect, lossy: Bool, now: UInt64) {
        let r = r.intersection(RFBRect(x: 0, y: 0, width: width, height: height))
        guard !r.isEmpty else { return }
        for cy in r.y / Self.cell...(r.maxY - 1) / Self.cell {
            for cx in r.x / Self.cell...(r.maxX - 1) / Self.cell {
                let i = cy * columns + cx
                if lossy {
                    if since[i] == nil { marked += 1 }
                    since[i] = now
                } else if since[i] != nil {
                    if r.intersection(cellRect(cx, cy)) == cellRect(cx, cy) { since[i] = nil; marked -= 1 } else { since[i] = now }
                }
            }
        }
    }

    /// When the next marked cell becomes due, or nil when none is marked.
    public var nextDue: UInt64? {
        guard marked > 0 else { return nil }
        return since.lazy.compactMap { $0 }.min().map { $0 + quiet }
    }

    /// Whether some cell is due at `now`.
    public func hasDue(now: UInt64) -> Bool { nextDue.map { $0 <= now } ?? false }

    /// The cells due at `now` as rectangles (cells joined along rows, clipped to the screen),
    /// unmarked: the caller sends them exactly.
    public mutating func takeDue(now: UInt64) -> [RFBRect] {
        guard marked > 0 else { return [] }
        var out: [RFBRect] = []
        for cy in 0..<rows {
            var run: RFBRect?
            for cx in 0..<columns {
                let i = cy * columns + cx
                if let t = since[i], t + quiet <= now {
                    since[i] = nil
                    marked -= 1
                    let c = cellRect(cx, cy)
                    if let r = run { run!.width = c.maxX - r.x } else { run = c }
                } else if let r = run {
                    out.append(r); run = nil
                }
            }
            if let r = run { out.append(r) }
        }
        return out
    }

    private func cellRect(_ cx: Int, _ cy: Int) -> RFBRect {
        RFBRect(x: cx * Self.cell, y: cy * Self.cell, width: Self.cell, height: Self.cell)
            .intersection(RFBRect(x: 0, y: 0, width: width, height: height))
    }
}
