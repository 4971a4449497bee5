#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import Display
import Synchronization

/// The server surface (QEMU `ui/vnc.c`'s design): one copy of the frame for every client.
///
/// Once per refresh of the display, `refresh()` copies the repainted tiles into the surface
/// (under the display's lock: that copy only), compares them with the surface's previous
/// frame (no lock held) to find the pixels that really changed, and joins those changes into
/// every client's `SurfaceDamage` (dirty bits, not pixels). A client then `take`s its damage
/// and the current frame, and encodes from that frame with no lock held, at its own pace: a
/// slow client's bits accumulate, and no client's speed touches the refreshes or the others.
///
/// Memory: two frames (the current one and the previous, kept to compare and reused), up to
/// two spares once clients were slow to let go of old ones, and per client its damage (64 KiB
/// at 1920x1080): the frames do not grow with the number of clients.
public final class ServerSurface: Sendable {
    /// A client's handle on the surface.
    public struct Client: Hashable, Sendable { let id: UInt64 }

    /// What a client takes for one update.
    public struct Take: Sendable {
        /// The frame to encode from (the surface as of the latest refresh).
        public let frame: FrameSnapshot
        /// The rectangles that changed since the client's last take (or the requested region).
        public let rects: [RFBRect]
        /// Whether the geometry changed since the client was last told it (send a DesktopSize).
        public let resized: Bool
        /// When the refresh that made `frame` current read the display (uptime ns): an update
        /// from this take shows the display as of then (for latency measurements).
        public var readNanos: UInt64 = 0
    }

    struct ClientState {
        var damage: SurfaceDamage
        var told: FramebufferGeometry
        var resized = false
    }

    struct State {
        var current: FrameSnapshot?
        /// When the refresh that published `current` read the display.
        var currentRead: UInt64 = 0
        var clients: [UInt64: ClientState] = [:]
        var nextID: UInt64 = 1
    }

    /// What only a refresh touches (refreshes run one at a time under this lock).
    struct RefreshState {
        /// The frame before `current`: it differs from it exactly by `delta`.
        var previous: FrameSnapshot?
        /// Older frames kept for reuse while clients still encode from them (reused once their
        /// holder lets go), at most two.
        var spares: [FrameSnapshot] = []
        var delta = SurfaceDamage(width: 0, height: 0)
        var dirty = DirtyTileBitmap(count: 0)
        var stats = SurfaceStatistics()
        /// The surface's reader of the display: made at the first refresh with a client, and
        /// dropped with the last client so that a display nobody reads can idle.
        var reader: (any FramebufferReader)?
    }

    private let source: any FramebufferSource
    private let readerName: String
    /// Compare every tile at each refresh instead of the repainted ones (a display without a
    /// dirty log, as the benchmark's `compare` server has it).
    private let compareEverything: Bool
    private let state = Mutex(State())
    private let refreshing = Mutex(RefreshState())

    /// A surface over `source`, read through one reader of its own (made at the first refresh).
    public init(source: any FramebufferSource, name: String = "vnc surface", compareEverything: Bool = false) {
        self.source = source
        readerName = name
        self.compareEverything = compareEverything
    }

    /// Counters over this surface's life.
    public var statistics: SurfaceStatistics { refreshing.withLock { $0.stats } }

    /// The latest frame, or nil before the first refresh.
    public var latest: FrameSnapshot? { state.withLock { $0.current } }

    // MARK: - clients

    /// A new client, owed the whole screen; `told` is the geometry it was told in ServerInit.
    public func join(told: FramebufferGeometry) -> Client {
        state.withLock { s in
            let id = s.nextID
            s.nextID += 1
            var c = ClientState(damage: SurfaceDamage(width: told.width, height: told.height), told: told)
            if let g = s.current?.geometry, g != told { c.damage.reset(width: g.width, height: g.height); c.resized = true }
            c.damage.markAll()
            s.clients[id] = c
            return Client(id: id)
        }
    }

    public func leave(_ client: Client) { _ = state.withLock { $0.clients.removeValue(forKey: client.id) } }

    /// When no client is left: drops the reader and the frames, so that nothing reads the
    /// display (it may idle) and no stale frame waits for the next client, who gets a whole
    /// frame from a new reader at the next refresh. Returns whether it did.
    @discardableResult
    public func releaseIfUnused() -> Bool {
        refreshing.withLock { r -> Bool in
            let unused = state.withLock { s -> Bool in
                guard s.clients.isEmpty else { return false }
                s.current = nil
                return true
            }
            guard unused else { return false }
            r.reader = nil
            r.previous = nil
            r.spares = []
            return true
        }
    }

    public var clientCount: Int { state.withLock { $0.clients.count } }

    /// Whether `client` is owed anything (changed pixels or a new geometry).
    public func isOwed(_ client: Client) -> Bool {
        state.withLock { s in s.clients[client.id].map { !$0.damage.isEmpty || $0.resized } ?? false }
    }

    /// The current frame and the client's changes inside `region`, which it is then no
    /// longer owed (with `full`, a non-incremental request: the whole region); nil before the
    /// first refresh. `rowSpans`: see `SurfaceDamage.take`.
    public func take(_ client: Client, region: RFBRect, full: Bool, rowSpans: Bool) -> Take? {
        state.withLock { s -> Take? in
            guard let frame = s.current, s.clients[client.id] != nil else { return nil }
            let g = frame.geometry
            var rects = s.clients[client.id]!.damage.take(region: region, rowSpans: rowSpans)
            if full { rects = [region.intersection(RFBRect(x: 0, y: 0, width: g.width, height: g.height))].filter { !$0.isEmpty } }
            let resized = s.clients[client.id]!.resized
            s.clients[client.id]!.resized = false
            s.clients[client.id]!.told = g
            return Take(frame: frame, rects: rects, resized: resized, readNanos: s.currentRead)
        }
    }

    // MARK: - refresh

    /// Brings the surface up to date with the display and marks what changed in every
    /// client's damage. Returns whether anything changed. Any thread; one at a time.
    @discardableResult
    public func refresh() -> Bool {
        refreshing.withLock { r -> Bool in
            let old = state.withLock { $0.current }
            let started = DispatchTime.now().uptimeNanoseconds
            var target = Self.catchUp(&r, to: old)
            var full = false
            var locked: (UInt64, UInt64) = (0, 0)
            defer {
                let end = DispatchTime.now().uptimeNanoseconds
                r.stats.nanosUnderLock += locked.1 - locked.0
                r.stats.nanosOutsideLock += end - started - (locked.1 - locked.0)
            }
            let reader = r.reader ?? source.makeReader(name: readerName)
            r.reader = reader
            reader.read { frame, dirty in
                locked.0 = DispatchTime.now().uptimeNanoseconds
                defer { locked.1 = DispatchTime.now().uptimeNanoseconds }
                if let t = target, t.fits(frame) {
                    r.stats.bytesCopiedUnderLock += t.pixels.copyTiles(dirty, grid: frame.grid, from: frame.bytes.baseAddress!)
                } else {
                    let t = FrameSnapshot(geometry: frame.geometry, grid: frame.grid)
                    r.stats.framesAllocated += 1
                    t.pixels.copyAll(from: frame.bytes.baseAddress!)
                    r.stats.bytesCopiedUnderLock += frame.geometry.byteCount
                    target = t
                    full = true
                }
                if r.dirty.count != dirty.count { r.dirty = DirtyTileBitmap(count: dirty.count) }
                r.dirty.copyBits(from: dirty)
            }
            guard let new = target else { return false }
            r.stats.refreshes += 1
            if full || old == nil || old!.geometry != new.geometry {
                r.delta.reset(width: new.geometry.width, height: new.geometry.height)
                r.delta.markAll()
            } else {
                r.delta.clearAll()
                if compareEverything { r.dirty.setAll() }
                if r.dirty.isEmpty {
                    r.previous = new // equal to `old`, and `delta` is empty: nothing to publish
                    return false
                }
                r.stats.bytesCompared += Self.compare(new, with: old!, tiles: r.dirty, into: &r.delta)
            }
            let changed = !r.delta.isEmpty
            publish(new, delta: r.delta, read: locked.0)
            r.previous = old
            return changed
        }
    }

    /// A frame equal to `old` to copy the new tiles into, outside the display's lock: the
    /// previous frame brought forward by copying the tiles of the last delta from `old` when
    /// nobody else holds it, else a new copy of `old`; nil when there is no frame yet.
    private static func catchUp(_ r: inout RefreshState, to old: FrameSnapshot?) -> FrameSnapshot? {
        guard let old else { return nil }
        defer { r.previous = nil }
        // (Checked before binding it: a binding would be a second reference.)
        if isKnownUniquelyReferenced(&r.previous), let p = r.previous, p.geometry == old.geometry, p.grid.tile == old.grid.tile {
            var tiles = DirtyTileBitmap(count: old.grid.count)
            let grid = old.grid, columns = r.delta.columns
            r.delta.blocks.forEachSet { b in
                let x = (b % columns) * SurfaceDamage.columnWidth, y = (b / columns) * SurfaceDamage.blockHeight
                let x1 = min(x + SurfaceDamage.columnWidth, old.geometry.width) - 1, y1 = min(y + SurfaceDamage.blockHeight, old.geometry.height) - 1
                for ty in stride(from: y / grid.tile.height, through: y1 / grid.tile.height, by: 1) {
                    for tx in stride(from: x / grid.tile.width, through: x1 / grid.tile.width, by: 1) { tiles.set(ty * grid.columns + tx) }
                }
            }
            old.withFrame { _ = p.pixels.copyTiles(tiles, grid: grid, from: $0.bytes.baseAddress!) }
            return p
        }
        // The previous frame is still held (a client encodes from it): keep it for later, and
        // copy `old` whole into a spare nobody holds, or a new frame.
        if let p = r.previous { r.spares.append(p) }
        r.spares.removeAll { $0.geometry != old.geometry || $0.grid.tile != old.grid.tile }
        var t: FrameSnapshot
        if let i = r.spares.indices.first(where: { isKnownUniquelyReferenced(&r.spares[$0]) }) {
            t = r.spares.remove(at: i)
        } else {
            t = FrameSnapshot(geometry: old.geometry, grid: old.grid)
            r.stats.framesAllocated += 1
        }
        // At most two spares, dropping first those still held (their holder frees them).
        while r.spares.count > 2 {
            let i = r.spares.indices.first { !isKnownUniquelyReferenced(&r.spares[$0]) } ?? 0
            r.spares.remove(at: i)
        }
        old.withFrame { t.pixels.copyAll(from: $0.bytes.baseAddress!) }
        r.stats.wholeFrameCopies += 1
        return t
    }

    /// Makes `new` the current frame and joins `delta` into every client's damage (a client
    /// of another geometry is owed the whole new screen and a DesktopSize).
    private func publish(_ new: FrameSnapshot, delta: SurfaceDamage, read: UInt64) {
        state.withLock { s in
            s.current = new
            s.currentRead = read
            let g = new.geometry
            for i in s.clients.values.indices {
                if s.clients.values[i].damage.width != g.width || s.clients.values[i].damage.height != g.height {
                    s.clients.values[i].damage.reset(width: g.width, height: g.height)
                    s.clients.values[i].damage.markAll()
                } else {
                    s.clients.values[i].damage.formUnion(delta)
                }
                if s.clients.values[i].told != g { s.clients.values[i].resized = true }
            }
        }
    }
}
