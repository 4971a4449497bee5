import Display

/// An immutable copy of the frame as of one refresh, shared by every client that reads
/// between that refresh and the next. A client compares and encodes from it with no lock
/// held, so however many clients there are and however slowly they go, refreshes wait only
/// for the copy of the tiles a refresh repainted, made once for all of them.
///
/// Reference-counted: a client holding an old snapshot keeps it alive and unchanged; the
/// `FrameSnapshotter` reuses a snapshot's memory only once nothing but itself holds it.
public final class FrameSnapshot: @unchecked Sendable {
    public let geometry: FramebufferGeometry
    public let grid: TileGrid
    /// Written only by the snapshotter, under the source's lock, while no reader holds it.
    fileprivate let pixels: ShadowFramebuffer
    /// Where the pixels stand in the source's damage log (the tiles to copy to bring them up to date).
    fileprivate var cursor: DamageCursor

    fileprivate init(geometry: FramebufferGeometry, grid: TileGrid, cursor: DamageCursor) {
        self.geometry = geometry
        self.grid = grid
        self.cursor = cursor
        pixels = ShadowFramebuffer(geometry: geometry)
    }

    /// Lends the pixels as a frame.
    public func withFrame<R, E: Error>(_ body: (FrameView) throws(E) -> R) throws(E) -> R {
        try pixels.withUnsafeBytes { (bytes) throws(E) in try body(FrameView(geometry: geometry, grid: grid, bytes: bytes)) }
    }
}

/// Keeps the snapshot of a source's frame current. Call `snapshot(of:damage:)` under the
/// source's lock: when nothing was repainted since the last call it returns the same
/// snapshot (no copy); otherwise it brings a snapshot nobody holds up to date by copying
/// only the tiles the damage log says were repainted since that snapshot was made. Time
/// under the lock is that copy, once per refresh, whatever the number of clients; clients
/// pay for their own compares and encodes from the snapshot afterwards.
///
/// Memory: a few frames in all (the newest, and ones clients still hold while comparing),
/// not one per client.
public final class FrameSnapshotter: @unchecked Sendable {
    private var pool: [FrameSnapshot] = []
    /// Index in `pool` of the newest snapshot.
    private var newest: Int?
    private var scratch = DirtyTileBitmap(count: 0)
    /// Pixel bytes copied into snapshots so far (all of it under the source's lock).
    public private(set) var copiedBytes = 0
    /// Times a snapshot was brought up to date (at most once per refresh, however many read).
    public private(set) var refreshes = 0
    /// Snapshots allocated so far (each a whole frame's memory).
    public private(set) var allocated = 0
    /// Snapshots now kept for reuse or held by readers.
    public var pooled: Int { pool.count }

    public init() {}

    /// The same for a display's shadow framebuffer and its tile grid (what a tracking session
    /// lends its sinks).
    public func snapshot(of shadow: ShadowFramebuffer, grid: TileGrid, damage: TileDamageLog) -> FrameSnapshot {
        shadow.withUnsafeBytes { snapshot(of: FrameView(geometry: shadow.geometry, grid: grid, bytes: $0), damage: damage) }
    }

    /// Under the source's lock: a snapshot whose pixels equal `frame` now, given the log
    /// `damage` in which the source records every repaint of `frame`.
    public func snapshot(of frame: FrameView, damage: TileDamageLog) -> FrameSnapshot {
        if let n = newest, pool[n].geometry == frame.geometry, !damage.hasChanges(since: pool[n].cursor) { return pool[n] }
        if let n = newest, pool[n].geometry != frame.geometry || pool[n].grid.count != frame.grid.count {
            pool.removeAll()
            newest = nil
        }
        // Reuse the newest snapshot if nobody holds it, else the free one furthest along the
        // log (fewest tiles to copy); a snapshot is free when only the pool holds it.
        var pick: Int?
        if let n = newest, isKnownUniquelyReferenced(&pool[n]) {
            pick = n
        } else {
            for i in pool.indices where isKnownUniquelyReferenced(&pool[i]) {
                if pick == nil || pool[i].cursor.seen > pool[pick!].cursor.seen { pick = i }
            }
        }
        newest = nil
        if pick == nil {
            pool.append(FrameSnapshot(geometry: frame.geometry, grid: frame.grid, cursor: damage.newCursor()))
            allocated += 1
            pick = pool.count - 1
        }
        let s = pool[pick!]
        damage.changes(since: &s.cursor, into: &scratch)
        copiedBytes += s.pixels.copyTiles(scratch, grid: frame.grid, from: frame.bytes.baseAddress!)
        refreshes += 1
        newest = pick
        // Keep at most two free snapshots besides the newest: memory stays a few frames.
        var free = 0
        var i = pool.count - 1
        while i >= 0 {
            if i != newest!, isKnownUniquelyReferenced(&pool[i]) {
                free += 1
                if free > 2 {
                    pool.remove(at: i)
                    if i < newest! { newest! -= 1 }
                }
            }
            i -= 1
        }
        return pool[newest!]
    }
}
