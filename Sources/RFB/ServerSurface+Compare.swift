#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Display

/// The surface's compare, and its counters.
extension ServerSurface {
    /// Finds, in each of `tiles`, each row's span of pixels that differ between `new` and
    /// `old` (same geometry), per 64-pixel column, into `delta`. Returns the bytes compared.
    static func compare(_ new: FrameSnapshot, with old: FrameSnapshot, tiles: DirtyTileBitmap, into delta: inout SurfaceDamage) -> Int {
        let grid = new.grid, pitch = new.geometry.pitch, column = SurfaceDamage.columnWidth
        var compared = 0
        new.withFrame { n in
            old.withFrame { o in
                let np = n.bytes.baseAddress!, op = o.bytes.baseAddress!
                tiles.forEachSet { t in
                    let tr = grid.rect(ofTile: t)
                    for y in tr.y..<tr.y + tr.height {
                        var x = tr.x
                        while x < tr.x + tr.width {
                            let end = min(tr.x + tr.width, (x / column + 1) * column)
                            let off = y * pitch + x * 4
                            compared += (end - x) * 4
                            // SAFETY: the slice is part of a visible row: inside both frames (same geometry).
                            if memcmp(np + off, op + off, (end - x) * 4) != 0 {
                                var f = x, l = end - 1
                                while n.pixel(atOffset: y * pitch + f * 4) == o.pixel(atOffset: y * pitch + f * 4) { f += 1 }
                                while n.pixel(atOffset: y * pitch + l * 4) == o.pixel(atOffset: y * pitch + l * 4) { l -= 1 }
                                delta.mark(row: y, from: f, through: l)
                            }
                            x = end
                        }
                    }
                }
            }
        }
        return compared
    }
}

/// What a `ServerSurface` did so far.
public struct SurfaceStatistics: Sendable, Equatable {
    /// Refreshes that read the display.
    public var refreshes = 0
    /// Pixel bytes copied from the display under its lock (all refreshes, whatever the clients).
    public var bytesCopiedUnderLock = 0
    /// Bytes compared between consecutive frames (no lock held).
    public var bytesCompared = 0
    /// Frames allocated (each a whole frame's memory).
    public var framesAllocated = 0
    /// Times a frame was brought forward by copying all of it (outside the lock) instead of
    /// the last refresh's changes: only when the previous frame was missing or still held.
    public var wholeFrameCopies = 0
    /// Time spent reading the display under its lock (the copy), and the rest of the
    /// refreshes (bringing a frame forward, comparing, marking the clients), in nanoseconds.
    public var nanosUnderLock: UInt64 = 0
    public var nanosOutsideLock: UInt64 = 0
}
