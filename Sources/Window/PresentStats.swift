/// What the window did over a stretch of frames. Upload (copying repainted tiles out of
/// the tracked shadow, done while the tracker waits) and present (composing, scaling and
/// pushing to the screen, done after) are timed apart.
public struct PresentStats: Sendable, Equatable {
    /// Calls to `present()` (display frames).
    public var frames = 0
    /// Frames that pushed pixels to the screen.
    public var updates = 0
    /// Dirty tiles uploaded, summed over frames.
    public var tiles = 0
    /// Rectangles pushed, summed over updates.
    public var rects = 0
    /// Time spent in `upload`.
    public var uploadNanos: UInt64 = 0
    /// Time spent in `present()` on frames that pushed pixels.
    public var presentNanos: UInt64 = 0

    public init() {}

    /// Dirty tiles per display frame.
    public var tilesPerFrame: Double { frames == 0 ? 0 : Double(tiles) / Double(frames) }
    /// Average milliseconds of a present that pushed pixels.
    public var averagePresentMilliseconds: Double { updates == 0 ? 0 : Double(presentNanos) / Double(updates) / 1e6 }
    /// Average milliseconds of an upload per frame.
    public var averageUploadMilliseconds: Double { frames == 0 ? 0 : Double(uploadNanos) / Double(frames) / 1e6 }
}

extension PresentStats {
    mutating func add(_ o: PresentStats) {
        frames += o.frames
        updates += o.updates
        tiles += o.tiles
        rects += o.rects
        uploadNanos += o.uploadNanos
        presentNanos += o.presentNanos
    }
}
