/// A rectangle of pixels: a tile, or a union of tiles, in framebuffer coordinates.
public struct TileRect: Equatable, Sendable, CustomStringConvertible {
    /// Left column.
    public var x: Int
    /// Top row.
    public var y: Int
    /// Width in pixels.
    public var width: Int
    /// Height in pixels.
    public var height: Int

    /// The rectangle with top-left corner (`x`, `y`) and the given size.
    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
    }

    /// One past the rightmost column.
    public var maxX: Int { x + width }
    /// One past the bottom row.
    public var maxY: Int { y + height }
    /// Pixels covered.
    public var area: Int { width * height }

    /// Whether pixel (`px`, `py`) lies inside.
    public func contains(x px: Int, y py: Int) -> Bool {
        px >= x && px < maxX && py >= y && py < maxY
    }

    /// The smallest rectangle covering both.
    public func union(_ other: TileRect) -> TileRect {
        let x0 = min(x, other.x), y0 = min(y, other.y)
        return TileRect(x: x0, y: y0, width: max(maxX, other.maxX) - x0, height: max(maxY, other.maxY) - y0)
    }

    /// `64x32+128+0`.
    public var description: String { "\(width)x\(height)+\(x)+\(y)" }
}
