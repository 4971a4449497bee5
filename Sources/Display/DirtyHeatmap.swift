/// How recently each tile was repainted, for `--show-dirty`: a tile repainted this frame is
/// hot and cools over the next `window` frames.
public struct DirtyHeatmap: Sendable {
    /// Frames a repaint stays visible.
    public let window: Int
    /// Frames since each tile was last repainted, saturating at 255 (also "never").
    private var ages: [UInt8]

    /// A cold heatmap for `count` tiles that fades repaints over `window` frames (1...255).
    public init(count: Int, window: Int = 8) {
        precondition(window >= 1 && window < 255, "heat window must be 1...254 frames")
        self.window = window
        ages = [UInt8](repeating: .max, count: count)
    }

    /// Number of tiles.
    public var count: Int { ages.count }

    /// Advances one frame: every tile ages by one, then the tiles in `dirty` become hot (age 0).
    /// Call once per displayed frame.
    public mutating func age(marking dirty: DirtyTileBitmap) {
        precondition(dirty.count == ages.count, "bitmap covers \(dirty.count) tiles, heatmap has \(ages.count)")
        ages.withUnsafeMutableBufferPointer { a in
            for i in a.indices where a[i] != .max { a[i] += 1 }
        }
        dirty.forEachSet { ages[$0] = 0 }
    }

    /// Frames since tile `i` was last repainted (255 means long ago or never).
    public func age(ofTile i: Int) -> Int { Int(ages[i]) }

    /// 255 for a tile repainted this frame, falling linearly to 0 at `window` frames old.
    public func intensity(ofTile i: Int) -> UInt8 {
        let a = Int(ages[i])
        return a >= window ? 0 : UInt8(255 * (window - a) / window)
    }
}

/// Tints, in place, a copy of the screen at `pixels` (the geometry of `grid`, rows `pitch`
/// bytes apart; never the guest framebuffer or the shadow itself) by the heat of each tile:
/// a tile repainted this frame is blended halfway toward red and outlined; older repaints fade
/// through yellow to green and vanish after `heat.window` frames.
public func tint(pixels: UnsafeMutableRawPointer, pitch: Int, grid: TileGrid, heat: DirtyHeatmap) {
    precondition(heat.count == grid.count, "heatmap covers \(heat.count) tiles, grid has \(grid.count)")
    for t in 0..<grid.count {
        let intensity = Int(heat.intensity(ofTile: t))
        guard intensity > 0 else { continue }
        let r = grid.rect(ofTile: t)
        // Hue from red (fresh) through yellow to green (old); alpha up to 50 % fades with age.
        let freshness = intensity  // 255 ... 1
        let red = min(255, 2 * freshness)
        let green = min(255, 2 * (255 - freshness) + 64)
        let color = UInt32(red) << 16 | UInt32(green) << 8 | 0x30
        let alpha = UInt32(intensity / 2)
        for y in r.y..<r.maxY {
            for x in r.x..<r.maxX {
                let offset = y * pitch + x * FramebufferGeometry.bytesPerPixel
                let outline = heat.age(ofTile: t) == 0
                    && (x == r.x || y == r.y || x == r.maxX - 1 || y == r.maxY - 1)
                let old = pixels.loadUnaligned(fromByteOffset: offset, as: UInt32.self)
                let new = outline ? 0xFF_3030 : blend(old, toward: color, alpha: alpha)
                pixels.storeBytes(of: new, toByteOffset: offset, as: UInt32.self)
            }
        }
    }
}

/// `old + (target - old) * alpha / 256`, per channel, X byte cleared.
@inline(__always)
func blend(_ old: UInt32, toward target: UInt32, alpha: UInt32) -> UInt32 {
    @inline(__always) func channel(_ shift: UInt32) -> UInt32 {
        let a = (old >> shift) & 0xFF
        let b = (target >> shift) & 0xFF
        return ((a * (256 - alpha) + b * alpha) >> 8) << shift
    }
    return channel(0) | channel(8) | channel(16)
}
