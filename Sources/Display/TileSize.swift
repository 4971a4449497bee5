/// The size in pixels of the tiles the display tracks and copies as units.
public struct TileSize: Sendable, Equatable, CustomStringConvertible {
    /// Tile width in pixels (> 0).
    public let width: Int
    /// Tile height in pixels (> 0).
    public let height: Int

    /// A `width` x `height` pixel tile.
    /// - Precondition: both are positive.
    public init(width: Int, height: Int) {
        precondition(width > 0 && height > 0, "tile size must be positive")
        self.width = width
        self.height = height
    }

    /// Parses `"64x32"` (also `"64X32"`); `nil` unless both sides are positive integers.
    public init?(parsing text: String) {
        let parts = text.split(separator: "x", omittingEmptySubsequences: false)
            .flatMap { $0.split(separator: "X", omittingEmptySubsequences: false) }
        guard parts.count == 2, let w = Int(parts[0]), let h = Int(parts[1]), w > 0, h > 0 else {
            return nil
        }
        self.init(width: w, height: h)
    }

    /// `64x32`.
    public var description: String { "\(width)x\(height)" }
}
