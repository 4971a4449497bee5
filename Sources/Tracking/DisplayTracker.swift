import Display
import Machine
import Dispatch

/// The display's consumer: folds framebuffer pages into the pending dirty-tile bitmap and,
/// at each sync, copies exactly the dirty pages (or tiles) from guest memory into the shadow
/// and records the repainted tiles in the damage log every display sink reads.
public final class DisplayTracker: DirtyPageConsumer {
    public let grid: TileGrid
    public let shadow: ShadowFramebuffer
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

    init(machine: Machine, tile: TileSize, mode: TrackingMode) {
        let geometry = FramebufferGeometry(width: machine.config.width, height: machine.config.height, pitch: machine.config.framebufferPitch)
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
        switch mode {
        case .ring, .bitmap:
            bytes = pendingPages.withUnsafeMutableBufferPointer { bits in
                let n = shadow.copyPages(UnsafeBufferPointer(bits), pageSize: grid.pageSize, from: source)
                bits.update(repeating: 0)
                return n
            }
        case .compare:
            bytes = shadow.copyChangedTiles(grid: grid, from: source, markingInto: &pending)
        case .full:
            pending.setAll()
            shadow.copyAll(from: source)
            bytes = shadow.geometry.byteCount
        }
        swap(&pending, &lastDirty)
        pending.clearAll()
        damage.record(lastDirty)
        return bytes
    }

    /// Whether the shadow equals guest memory now (tests; the guest must be paused).
    public func shadowMatchesGuest() -> Bool { shadow.equals(source: source) }
    public func firstDifference() -> (x: Int, y: Int)? { shadow.firstDifference(source: source) }
}
