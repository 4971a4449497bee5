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
    public let mode: TrackingMode
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
    /// The fold time of the last sync (for `--tracking auto`'s cost).
    var lastFoldNanos: UInt64 = 0
    /// With `--tracking auto`: logged or full repaint now (see `AdaptivePolicy`).
    public internal(set) var method: DisplayMethod = .logged
    /// The next sync copies the whole frame (after logging was turned back on: writes made
    /// before it was on were never logged).
    var copyAllOnce = false
    /// In full mode, the next sync compares instead of copying (an `AdaptivePolicy` probe).
    var compareOnce = false
    /// The machine's mode-set count this tracker last followed.
    private(set) var modeSerial: Int

    init(machine: Machine, tile: TileSize, mode: TrackingMode) {
        let display = machine.displayMode
        modeSerial = display.serial
        let geometry = FramebufferGeometry(display.mode)
        grid = TileGrid(geometry: geometry, tile: tile)
        shadow = ShadowFramebuffer(geometry: geometry)
        pending = DirtyTileBitmap(count: grid.count)
        lastDirty = DirtyTileBitmap(count: grid.count)
        damage = TileDamageLog(count: grid.count)
        self.mode = mode
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
        let t0 = DispatchTime.now().uptimeNanoseconds
        grid.markPages(pages, in: &pending)
        // One exclusive access to the bitmap per batch, not one per page.
        pendingPages.withUnsafeMutableBufferPointer { bits in
            for p in pages where p < UInt64(bits.count * 64) { bits[Int(p >> 6)] |= UInt64(1) << (p & 63) }
        }
        foldNanos += DispatchTime.now().uptimeNanoseconds - t0
    }

    /// Brings the shadow up to date with guest memory for everything folded since the last
    /// sync; returns bytes copied. Ring and bitmap modes copy exactly the dirty pages (the
    /// dirty tiles are what sinks repaint); compare and full find and copy tiles themselves.
    func refresh() -> Int {
        var bytes = 0
        var effective: TrackingMode = mode
        if mode == .auto {
            effective = copyAllOnce ? .full : method == .logged ? .ring : compareOnce ? .compare : .full
        } else if copyAllOnce {
            effective = .full // the first sync after a mode set
        }
        copyAllOnce = false
        compareOnce = false
        switch effective {
        case .ring, .bitmap:
            bytes = pendingPages.withUnsafeMutableBufferPointer { bits in
                let n = shadow.copyPages(UnsafeBufferPointer(bits), pageSize: grid.pageSize, from: source)
                bits.update(repeating: 0)
                return n
            }
        case .compare:
            bytes = shadow.copyChangedTiles(grid: grid, from: source, markingInto: &pending)
        case .full, .auto:
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

    /// Times one copy of the whole frame from guest memory into the shadow (the shadow gets
    /// the guest's current picture, as a full sync would give it): the full-repaint cost on
    /// this host, for `--tracking auto`. Call under the session lock.
    func measureFullCopy() -> UInt64 {
        let t0 = DispatchTime.now().uptimeNanoseconds
        shadow.copyAll(from: source)
        return DispatchTime.now().uptimeNanoseconds - t0
    }

    /// Whether the shadow equals guest memory now (tests; the guest must be paused).
    public func shadowMatchesGuest() -> Bool { shadow.equals(source: source) }
    public func firstDifference() -> (x: Int, y: Int)? { shadow.firstDifference(source: source) }
}

extension FramebufferGeometry {
    /// The geometry of a guest display mode.
    init(_ mode: DisplayMode) { self.init(width: mode.width, height: mode.height, pitch: mode.pitch) }
}
