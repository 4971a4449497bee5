import Display

/// One frame of the server surface: a copy of the display's pixels as of one refresh,
/// reference-counted. The `ServerSurface` writes a frame only before it hands it out or once
/// nothing but the surface holds it; so a client that took a frame encodes from it with no
/// lock held while later refreshes go into another frame.
public final class FrameSnapshot: @unchecked Sendable { // written only while unshared (see above)
    public let geometry: FramebufferGeometry
    public let grid: TileGrid
    let pixels: ShadowFramebuffer

    init(geometry: FramebufferGeometry, grid: TileGrid) {
        self.geometry = geometry
        self.grid = grid
        pixels = ShadowFramebuffer(geometry: geometry)
    }

    /// Lends the pixels as a frame.
    public func withFrame<R, E: Error>(_ body: (FrameView) throws(E) -> R) throws(E) -> R {
        try pixels.withUnsafeBytes { (bytes) throws(E) in try body(FrameView(geometry: geometry, grid: grid, bytes: bytes)) }
    }

    /// Whether `frame` has this frame's geometry and tile layout (its tiles can be copied in).
    func fits(_ frame: FrameView) -> Bool {
        geometry == frame.geometry && grid.tile == frame.grid.tile && grid.pageSize == frame.grid.pageSize
    }
}
