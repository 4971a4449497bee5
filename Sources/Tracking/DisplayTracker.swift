import Display
import Machine
import Dispatch

/// The display's consumer: folds framebuffer pages into the pending dirty-tile bitmap and,
/// at each refresh, copies exactly the dirty tiles from guest memory into the shadow.
public final class DisplayTracker: DirtyPageConsumer {
    public let grid: TileGrid
    public let shadow: ShadowFramebuffer
    public let mode: TrackingMode
    /// Tiles folded since the last refresh.
    private var pending: DirtyTileBitmap
    /// Tiles repainted by the last refresh (what sinks upload).
    public private(set) var lastDirty: DirtyTileBitmap
    private let source: UnsafeRawPointer
    public let wantsSlots: Set<UInt32> = [GuestLayout.framebufferSlot]
    var foldNanos: UInt64 = 0

    init(machine: Machine, tile: TileSize, mode: TrackingMode) {
        let geometry = FramebufferGeometry(width: machine.config.width, height: machine.config.height, pitch: machine.config.framebufferPitch)
        grid = TileGrid(geometry: geometry, tile: tile)
        shadow = ShadowFramebuffer(geometry: geometry)
        pending = DirtyTileBitmap(count: grid.count)
        lastDirty = DirtyTileBitmap(count: grid.count)
        self.mode = mode
        // SAFETY: the framebuffer slot's host mapping lives as long as the machine, which the tracker keeps.
        source = UnsafeRawPointer(machine.framebuffer.base)
        // The guest's framebuffer starts zeroed, and so does the shadow: nothing to copy at boot.
    }

    public func consume(slot: UInt32, pages: UnsafeBufferPointer<UInt64>) {
        let t0 = DispatchTime.now().uptimeNanoseconds
        grid.markPages(pages, in: &pending)
        foldNanos += DispatchTime.now().uptimeNanoseconds - t0
    }

    /// Copies this refresh's dirty tiles into the shadow; returns bytes copied.
    func refresh() -> Int {
        var bytes = 0
        switch mode {
        case .ring, .bitmap:
            bytes = shadow.copyTiles(pending, grid: grid, from: source)
        case .compare:
            bytes = shadow.copyChangedTiles(grid: grid, from: source, markingInto: &pending)
        case .full:
            pending.setAll()
            shadow.copyAll(from: source)
            bytes = shadow.geometry.byteCount
        }
        swap(&pending, &lastDirty)
        pending.clearAll()
        return bytes
    }

    /// Whether the shadow equals guest memory now (tests; the guest must be paused).
    public func shadowMatchesGuest() -> Bool { shadow.equals(source: source) }
    public func firstDifference() -> (x: Int, y: Int)? { shadow.firstDifference(source: source) }
}
