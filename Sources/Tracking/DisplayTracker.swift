import Display
import Machine
import Dispatch

/// The display's consumer: folds framebuffer pages into the pending dirty-tile bitmap and,
/// at each sync, copies exactly the dirty pages (or tiles) from guest memory into the shadow
/// and records the repainted tiles in the damage log every display sink reads.
public final class DisplayTracker: DirtyPageConsumer {
    /// Tiles of the mode shown now; replaced, with the shadow and the damage log, when the
    /// guest sets a new mode (`follow(_:)`).
    public private(set) var grid: TileGrid
    public private(set) var shadow: ShadowFramebuffer
    /// How each sync brings the shadow up to date.
    public let strategy: RefreshStrategy
    /// Tiles folded since the last refresh.
    private var pending: DirtyTileBitmap
    /// Tiles repainted by the last sync.
    public private(set) var lastDirty: DirtyTileBitmap
    /// Every sync's repainted tiles by generation: each display sink reads what changed since
    /// it last looked (see `DisplaySink`).
    public private(set) var damage: TileDamageLog
    private let source: UnsafeRawPointer
    /// Framebuffer pages folded since the last sync (a sync may follow several harvests
    /// when a ring filled up), one bit per page of the frame.
    private var pendingPages: [UInt64]
    public let wantsSlots: Set<UInt32> = [GuestLayout.framebufferSlot]
    var foldNanos: UInt64 = 0
    /// Framebuffer pages delivered since the session last read it (auto: each one cost the
    /// guest a logged write fault).
    var foldedPages = 0
    /// The fold time of the last sync (for `--tracking auto`'s cost).
    var lastFoldNanos: UInt64 = 0
    /// With `--tracking auto`: logged or unlogged now (see `AdaptivePolicy`).
    public internal(set) var method: DisplayMethod = .logged
    /// The next sync copies the whole frame (after logging was turned back on: writes made
    /// before it was on were never logged).
    var copyAllOnce = false
    /// No display sink reads the shadow: harvests are not folded and the shadow is left as it
    /// was until a reader comes back, whose first sync copies the whole frame
    /// (`TrackingSession.syncForReaders`).
    public internal(set) var idle = false
    /// In auto's unlogged mode: how many changed pages a sync looks for before it stops
    /// comparing and copies the rest whole (`AdaptivePolicy.unloggedPageLimit`).
    var unloggedPageLimit = Int.max
    /// In auto's unlogged mode: the framebuffer pages the last sync's changed tiles overlap
    /// (what logging would have had the guest dirty), or every page if it stopped early.
    private(set) var lastChangedPages = 0
    /// Whether the last sync copied the whole frame without comparing all of it (auto).
    private(set) var lastCopiedAll = false
    /// The machine's mode-set count this tracker last followed.
    private(set) var modeSerial: Int

    init(machine: Machine, tile: TileSize, strategy: RefreshStrategy) {
        let display = machine.displayMode
        modeSerial = display.serial
        let geometry = FramebufferGeometry(display.mode)
        grid = TileGrid(geometry: geometry, tile: tile)
        shadow = ShadowFramebuffer(geometry: geometry)
        pending = DirtyTileBitmap(count: grid.count)
        lastDirty = DirtyTileBitmap(count: grid.count)
        damage = TileDamageLog(count: grid.count)
        self.strategy = strategy
        pendingPages = [UInt64](repeating: 0, count: (grid.pageCount + 63) / 64)
        // SAFETY: the framebuffer slot's host mapping lives as long as the machine, which the tracker keeps.
        source = UnsafeRawPointer(machine.framebuffer.base)
        // The guest's framebuffer starts zeroed, and so does the shadow: nothing to copy at boot.
    }

    /// Follows a guest mode set: a new tile grid, shadow and damage log for `state`'s mode,
    /// and the next refresh copies the whole new frame. Pages folded before it were for the
    /// old layout; the whole copy covers them (the slot never moves, only its layout changes).
    /// Sinks holding a cursor of the old log see every tile of the new one. Under the lock.
    func follow(_ state: DisplayModeState.Snapshot) {
        modeSerial = state.serial
        let geometry = FramebufferGeometry(state.mode)
        if geometry != grid.geometry {
            grid = TileGrid(geometry: geometry, tile: grid.tile)
            shadow = ShadowFramebuffer(geometry: geometry)
            pending = DirtyTileBitmap(count: grid.count)
            lastDirty = DirtyTileBitmap(count: grid.count)
            damage = TileDamageLog(count: grid.count)
            pendingPages = [UInt64](repeating: 0, count: (grid.pageCount + 63) / 64)
        }
        copyAllOnce = true
    }

    public func consume(slot: UInt32, pages: UnsafeBufferPointer<UInt64>) {
        guard !idle else { return } // the whole copy on waking covers these pages
        let t0 = DispatchTime.now().uptimeNanoseconds
        grid.markPages(pages, in: &pending)
        foldedPages += pages.count
        // One exclusive access to the bitmap per batch, not one per page.
        pendingPages.withUnsafeMutableBufferPointer { bits in
            for p in pages where p < UInt64(bits.count * 64) { bits[Int(p >> 6)] |= UInt64(1) << (p & 63) }
        }
        foldNanos += DispatchTime.now().uptimeNanoseconds - t0
    }

    /// What one sync copies into the shadow.
    private enum ShadowCopy {
        /// Exactly the pages folded since the last sync.
        case pages
        /// The tiles that differ from the shadow.
        case changedTiles
        /// Auto, unlogged: the changed tiles until `unloggedPageLimit` pages, then the rest whole.
        case changedTilesStoppingEarly
        /// The whole frame.
        case whole
    }

    /// This sync's copy: the strategy's, or the whole frame once after a mode set (or, in
    /// auto, after logging came back on).
    private var copyThisSync: ShadowCopy {
        if copyAllOnce { return .whole }
        switch strategy {
        case .pages: return .pages
        case .compare: return .changedTiles
        case .full: return .whole
        case .adaptive: return method == .logged ? .pages : .changedTilesStoppingEarly
        }
    }

    /// Brings the shadow up to date with guest memory for everything folded since the last
    /// sync; returns bytes copied. Ring and bitmap modes copy exactly the dirty pages (the
    /// dirty tiles are what sinks repaint); compare and full find and copy tiles themselves.
    func refresh() -> Int {
        var bytes = 0
        let copy = copyThisSync
        lastCopiedAll = copy == .whole
        copyAllOnce = false
        switch copy {
        case .pages:
            bytes = pendingPages.withUnsafeMutableBufferPointer { bits in
                let n = shadow.copyPages(UnsafeBufferPointer(bits), pageSize: grid.pageSize, from: source)
                bits.update(repeating: 0)
                return n
            }
        case .changedTilesStoppingEarly:
            bytes = copyChangedTilesStoppingEarly()
        case .changedTiles:
            bytes = shadow.copyChangedTiles(grid: grid, from: source, markingInto: &pending)
        case .whole:
            pending.setAll()
            shadow.copyAll(from: source)
            bytes = shadow.geometry.byteCount
            pendingPages.withUnsafeMutableBufferPointer { $0.update(repeating: 0) } // all copied
        }
        swap(&pending, &lastDirty)
        pending.clearAll()
        damage.record(lastDirty)
        return bytes
    }

    /// Unlogged auto: compares until the changed tiles cover `unloggedPageLimit` pages, then
    /// copies the rest whole. Logging may have been on until now; pages folded then are
    /// covered by the compare (everything is compared or copied). Returns bytes copied.
    private func copyChangedTilesStoppingEarly() -> Int {
        // A changed tile overlaps about pageCount / count pages (its rows' share of them).
        let pagesPerTile = max(0.25, Double(grid.pageCount) / Double(grid.count))
        let tileLimit = unloggedPageLimit == Int.max ? Int.max : Int((Double(unloggedPageLimit) / pagesPerTile).rounded(.up))
        let r = shadow.copyChangedTiles(grid: grid, from: source, markingInto: &pending, stopAfter: max(1, tileLimit))
        lastCopiedAll = !r.complete
        lastChangedPages = r.complete ? countPages(of: pending) : grid.pageCount
        return r.bytes
    }

    /// The framebuffer pages the tiles in `tiles` overlap (the page bitmap, zero before and
    /// after, is the scratch space: no allocation).
    private func countPages(of tiles: DirtyTileBitmap) -> Int {
        let pitch = shadow.geometry.pitch, bpp = FramebufferGeometry.bytesPerPixel, pageSize = grid.pageSize
        return pendingPages.withUnsafeMutableBufferPointer { bits in
            tiles.forEachSet { t in
                let r = grid.rect(ofTile: t)
                for y in r.y..<(r.y + r.height) {
                    let first = (y * pitch + r.x * bpp) / pageSize
                    let last = (y * pitch + (r.x + r.width) * bpp - 1) / pageSize
                    for p in first...last where p < bits.count * 64 { bits[p >> 6] |= UInt64(1) << UInt64(p & 63) }
                }
            }
            var n = 0
            for i in bits.indices { n += bits[i].nonzeroBitCount; bits[i] = 0 }
            return n
        }
    }

    /// Times, in thread CPU time, one copy of the whole frame from guest memory into the
    /// shadow (the shadow gets the guest's current picture, as a full sync would give it): the
    /// full-repaint cost on this host, for `--tracking auto`. Call under the session lock.
    /// `evicting`: written over first, so the frame and shadow come from memory, not the
    /// cache, as they do for a real unlogged sync (the guest's frame and everything else run
    /// between two syncs; measured warm, a 1280x800 copy took 200 us against 550 us for the
    /// syncs that followed, and auto left logging for desktop's boot frames on that estimate).
    func measureFullCopy(evicting: CacheEvictor?) -> UInt64 {
        evicting?.evict()
        let t0 = threadCPUNanos() // CPU time: a copy preempted by other load does not count the wait
        shadow.copyAll(from: source)
        return threadCPUNanos() - t0
    }

    /// Whether the shadow equals guest memory now (tests; the guest must be paused).
    public func shadowMatchesGuest() -> Bool { shadow.equals(source: source) }
    public func firstDifference() -> (x: Int, y: Int)? { shadow.firstDifference(source: source) }
}

extension FramebufferGeometry {
    /// The geometry of a guest display mode.
    init(_ mode: DisplayMode) { self.init(width: mode.width, height: mode.height, pitch: mode.pitch) }
}
