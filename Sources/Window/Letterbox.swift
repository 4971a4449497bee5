import Display

/// Where a picture of `content` size sits in a window of `window` size: as large as fits with
/// its aspect kept, centred, the bars around it black. With `nearest`, the scale is the
/// largest whole number that fits (each guest pixel an exact square of window pixels); a
/// window smaller than the picture then shrinks it to fit.
public struct Letterbox: Equatable, Sendable {
    /// Picture size in pixels.
    public let contentWidth: Int, contentHeight: Int
    /// Window client size in pixels.
    public let windowWidth: Int, windowHeight: Int
    /// Where the picture lands in the window.
    public let placement: TileRect
    /// Whether scaled pixels are filtered (bilinear) rather than repeated (nearest-neighbour).
    public let smooth: Bool

    public init(contentWidth: Int, contentHeight: Int, windowWidth: Int, windowHeight: Int, nearest: Bool) {
        precondition(contentWidth > 0 && contentHeight > 0, "empty picture")
        self.contentWidth = contentWidth
        self.contentHeight = contentHeight
        self.windowWidth = max(windowWidth, 1)
        self.windowHeight = max(windowHeight, 1)
        let ww = self.windowWidth, wh = self.windowHeight
        var w: Int, h: Int
        let zoom = min(ww / contentWidth, wh / contentHeight)
        if nearest && zoom >= 1 {
            w = contentWidth * zoom
            h = contentHeight * zoom
        } else if ww * contentHeight <= wh * contentWidth {
            // Width limits: full width, height by aspect.
            w = ww
            h = max(1, (ww * contentHeight + contentWidth / 2) / contentWidth)
        } else {
            h = wh
            w = max(1, (wh * contentWidth + contentHeight / 2) / contentHeight)
        }
        w = min(w, ww)
        h = min(h, wh)
        placement = TileRect(x: (ww - w) / 2, y: (wh - h) / 2, width: w, height: h)
        smooth = !nearest && !(w == contentWidth && h == contentHeight)
    }

    /// Whether the picture is shown pixel for pixel.
    public var isOneToOne: Bool { placement.width == contentWidth && placement.height == contentHeight }

    /// The picture pixel shown at window pixel (`x`, `y`): the one whose colour the scaling
    /// samples there (nearest-neighbour sampling at the pixel's centre), so a click lands on
    /// the pixel under it. Nil outside the placement (the black bars, or off the window).
    public func contentPoint(windowX x: Int, windowY y: Int) -> (x: Int, y: Int)? {
        guard placement.contains(x: x, y: y) else { return nil }
        return clampedContentPoint(windowX: x, windowY: y)
    }

    /// Like `contentPoint`, but a window pixel outside the placement maps to the nearest
    /// picture edge (a drag that leaves the picture keeps following it along the edge).
    public func clampedContentPoint(windowX x: Int, windowY y: Int) -> (x: Int, y: Int) {
        let p = placement
        func map(_ d: Int, _ origin: Int, _ placed: Int, _ source: Int) -> Int {
            let local = min(max(d - origin, 0), placed - 1)
            return min((2 * local + 1) * source / (2 * placed), source - 1)
        }
        return (map(x, p.x, p.width, contentWidth), map(y, p.y, p.height, contentHeight))
    }

    /// The window pixels whose colour depends on picture pixels in `rect` (picture
    /// coordinates), clipped to the placement. Nearest-neighbour: exactly the pixels that
    /// sample `rect`; bilinear: also their neighbours.
    public func windowRect(covering rect: TileRect) -> TileRect {
        let p = placement
        if isOneToOne {
            return TileRect(x: p.x + rect.x, y: p.y + rect.y, width: rect.width, height: rect.height)
        }
        let margin = smooth ? 1 : 0
        let (x0, x1) = Self.span(rect.x - margin, rect.maxX + margin, source: contentWidth, placed: p.width)
        let (y0, y1) = Self.span(rect.y - margin, rect.maxY + margin, source: contentHeight, placed: p.height)
        return TileRect(x: p.x + x0, y: p.y + y0, width: x1 - x0, height: y1 - y0)
    }

    /// Placed pixels `d` whose centre samples source pixels `a ..< b`:
    /// `floor((d + 0.5) * source / placed)` in `a ..< b`, i.e. `d` from
    /// `ceil((2a * placed - source) / (2 source))` up to the same for `b`, exclusive.
    private static func span(_ a: Int, _ b: Int, source: Int, placed: Int) -> (Int, Int) {
        func first(_ s: Int) -> Int {
            let n = 2 * s * placed - source
            let d = 2 * source
            return n <= 0 ? 0 : (n + d - 1) / d
        }
        let lo = max(0, first(max(a, 0)))
        let hi = min(placed, b >= source ? placed : first(b))
        return (lo, max(lo, hi))
    }
}
