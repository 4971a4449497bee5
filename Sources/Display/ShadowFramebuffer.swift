#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The display's own copy of the guest framebuffer. The VMM copies dirty tiles from guest
/// memory into it; sinks (window, PNG, benchmark) read only the shadow, never guest memory.
///
/// Layout: the shadow uses the *same pitch* as the guest framebuffer (`geometry.byteCount`
/// bytes, rows `geometry.pitch` apart), so a tile's bytes sit at the same offsets in both and
/// every copy is a straight `memcpy` of row slices. Padding bytes at the end of each row are
/// zero at creation and never copied by the tile paths.
///
/// Not internally synchronized: one thread copies, and sinks read between copies (the caller
/// orders them). The storage is allocated once in `init`; no copy path allocates.
///
/// A shadow of 2 MiB or more lives on transparent huge pages where the kernel allows them
/// (`HugePageBuffer`): a sparse sync touches a few dozen scattered 4 KiB pages of it, and with
/// 4 KiB pages each one was a TLB miss (a nested page walk on a virtualized host) on top of
/// its cache misses.
///
/// Not `Sendable`: it owns raw memory and a scratch array, unsynchronized by design (above);
/// it crosses threads only inside its owner, which orders the copies and reads
/// (`TrackingSession`'s lock).
public final class ShadowFramebuffer {
    /// The shape shared with the guest framebuffer.
    public let geometry: FramebufferGeometry
    /// Owned, zero-initialized storage of `geometry.byteCount` bytes, freed in `deinit`.
    private let storage: HugePageBuffer
    /// `storage.base`, kept here so each access is one load.
    private let base: UnsafeMutableRawPointer
    /// Compare mode scratch: `bandDone[c]` while tile column `c` of the current band is copied.
    /// Sized on first use for a grid; reused every frame after.
    private var bandDone: [Bool] = []

    /// A black shadow for a framebuffer of `geometry`.
    public init(geometry: FramebufferGeometry) {
        self.geometry = geometry
        storage = HugePageBuffer(byteCount: geometry.byteCount)
        base = storage.base
    }

    /// Whether the storage is a 2 MiB-aligned mapping advised for transparent huge pages
    /// (2 MiB or more on Linux); whether the kernel backs it with them is its own business.
    public var hugePageAdvised: Bool { storage.hugePages }

    /// Copies exactly the framebuffer pages whose bits are set in `pageBits` (bit `p` of word
    /// `p / 64`; page `p` covers bytes `p * pageSize ..< (p + 1) * pageSize`, clipped to the
    /// frame) from the guest framebuffer at `source`, in address order, runs of adjacent pages
    /// as one copy. Returns the bytes copied.
    ///
    /// With a page-granular dirty log this is the cheapest exact update: every byte that can
    /// have changed lies in a dirty page, and the shadow has the guest's layout. (Copying the
    /// dirty tiles instead copies whole tile rows for each page: 2-3x the bytes at 1080p.)
    @discardableResult
    public func copyPages(_ pageBits: UnsafeBufferPointer<UInt64>, pageSize: Int, from source: UnsafeRawPointer) -> Int {
        let total = geometry.byteCount
        var copied = 0
        var runStart = -1
        func flush(_ end: Int) {
            let start = runStart * pageSize
            runStart = -1
            guard start < total else { return }
            let length = min(end * pageSize, total) - start
            // SAFETY: [start, start + length) lies inside both buffers (byteCount bytes each).
            (base + start).copyMemory(from: source + start, byteCount: length)
            copied += length
        }
        for (w, word) in pageBits.enumerated() {
            if word == 0 {
                if runStart >= 0 { flush(w * 64) }
                continue
            }
            if word == ~0 {
                if runStart < 0 { runStart = w * 64 }
                continue
            }
            for bit in 0..<64 {
                let page = w * 64 + bit
                if word & (1 << UInt64(bit)) != 0 {
                    if runStart < 0 { runStart = page }
                } else if runStart >= 0 {
                    flush(page)
                }
            }
        }
        if runStart >= 0 { flush(pageBits.count * 64) }
        return copied
    }

    /// Copies the rows of exactly the tiles set in `dirty` from the guest framebuffer at
    /// `source` (which has this shadow's geometry) and returns the bytes copied. Horizontally
    /// adjacent dirty tiles are copied as one slice per row. Tiles not in `dirty` keep their
    /// old content.
    @discardableResult
    public func copyTiles(_ dirty: DirtyTileBitmap, grid: TileGrid, from source: UnsafeRawPointer) -> Int {
        precondition(grid.geometry == geometry, "tile grid is for \(grid.geometry), shadow is \(geometry)")
        precondition(dirty.count == grid.count, "bitmap covers \(dirty.count) tiles, grid has \(grid.count)")
        var copied = 0
        var runFirst = -1
        var runEnd = -1
        dirty.forEachSet { t in
            if t == runEnd && t % grid.columns != 0 {
                runEnd += 1
            } else {
                if runFirst >= 0 { copied += copyRun(runFirst, runEnd, grid: grid, from: source) }
                runFirst = t
                runEnd = t + 1
            }
        }
        if runFirst >= 0 { copied += copyRun(runFirst, runEnd, grid: grid, from: source) }
        return copied
    }

    /// Compare mode, for when no dirty log is available: compares every tile of the guest
    /// framebuffer at `source` with the shadow, copies the tiles that differ, marks them in
    /// `dirty` (existing bits are kept), and returns the bytes copied.
    ///
    /// Rows that are identical across the whole framebuffer width are skipped with one
    /// `memcmp`; a tile is copied from its first differing row down.
    @discardableResult
    public func copyChangedTiles(grid: TileGrid, from source: UnsafeRawPointer,
                                 markingInto dirty: inout DirtyTileBitmap) -> Int {
        copyChangedTiles(grid: grid, from: source, markingInto: &dirty, stopAfter: Int.max).bytes
    }

    /// `copyChangedTiles`, but once `limit` tiles were found changed (checked after each band
    /// of tiles), the rest of the frame is copied whole and its tiles marked, without
    /// comparing: for a caller that only needs to know whether fewer than `limit` changed.
    /// `complete` is false when it stopped comparing early. Every byte of the frame ends up
    /// equal to the source either way.
    public func copyChangedTiles(grid: TileGrid, from source: UnsafeRawPointer, markingInto dirty: inout DirtyTileBitmap,
                                 stopAfter limit: Int) -> (bytes: Int, complete: Bool) {
        precondition(grid.geometry == geometry, "tile grid is for \(grid.geometry), shadow is \(geometry)")
        precondition(dirty.count == grid.count, "bitmap covers \(dirty.count) tiles, grid has \(grid.count)")
        let g = geometry
        let bpp = FramebufferGeometry.bytesPerPixel
        var copied = 0
        var changed = 0
        for tileRow in 0..<grid.rows {
            let y0 = tileRow * grid.tile.height
            if changed >= limit {
                for y in y0..<g.height {
                    // SAFETY: one visible row, inside both buffers.
                    (base + y * g.pitch).copyMemory(from: source + y * g.pitch, byteCount: g.rowBytes)
                }
                for t in (tileRow * grid.columns)..<grid.count { dirty.set(t) }
                return (copied + (g.height - y0) * g.rowBytes, false)
            }
            let y1 = min(y0 + grid.tile.height, g.height)
            let firstTile = tileRow * grid.columns
            // Tiles of this band already copied (from their first differing row to y1).
            if bandDone.count != grid.columns { bandDone = [Bool](repeating: false, count: grid.columns) }
            bandDone.withUnsafeMutableBufferPointer { $0.update(repeating: false) }
            for y in y0..<y1 {
                let row = y * g.pitch
                // SAFETY: row < byteCount and rowBytes <= pitch: the slice lies inside both buffers.
                if memcmp(source + row, base + row, g.rowBytes) == 0 { continue }
                for column in 0..<grid.columns where !bandDone[column] {
                    let x = column * grid.tile.width
                    let bytes = min(grid.tile.width, g.width - x) * bpp
                    let tileOffset = row + x * bpp
                    // SAFETY: the slice is one tile's part of a visible row, inside both buffers.
                    if memcmp(source + tileOffset, base + tileOffset, bytes) == 0 { continue }
                    bandDone[column] = true
                    dirty.set(firstTile + column)
                    changed += 1
                    for yy in y..<y1 {
                        let offset = yy * g.pitch + x * bpp
                        // SAFETY: as above, for the remaining rows of the tile.
                        (base + offset).copyMemory(from: source + offset, byteCount: bytes)
                    }
                    copied += bytes * (y1 - y)
                }
            }
        }
        return (copied, true)
    }

    /// Copies every visible pixel from the guest framebuffer at `source` (a full repaint).
    public func copyAll(from source: UnsafeRawPointer) {
        let g = geometry
        if g.pitch == g.rowBytes {
            // SAFETY: source and shadow both hold byteCount bytes.
            base.copyMemory(from: source, byteCount: g.byteCount)
            return
        }
        for y in 0..<g.height {
            // SAFETY: one visible row, inside both buffers.
            (base + y * g.pitch).copyMemory(from: source + y * g.pitch, byteCount: g.rowBytes)
        }
    }

    /// The pixel at (`x`, `y`) as `0x00RRGGBB` (the X byte as stored).
    public func pixel(x: Int, y: Int) -> UInt32 {
        precondition(x >= 0 && x < geometry.width && y >= 0 && y < geometry.height, "pixel (\(x), \(y)) outside \(geometry)")
        return UInt32(littleEndian: base.loadUnaligned(fromByteOffset: y * geometry.pitch + x * 4, as: UInt32.self))
    }

    /// Lends the shadow's bytes (`geometry.byteCount`, rows `geometry.pitch` apart) to `body`.
    /// The pointer must not escape `body`.
    public func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try body(UnsafeRawBufferPointer(start: base, count: geometry.byteCount))
    }

    /// Whether every visible pixel equals the framebuffer at `source` (padding is ignored).
    public func equals(source: UnsafeRawPointer) -> Bool {
        firstDifference(source: source) == nil
    }

    /// The first pixel, in row-major order, where the shadow differs from `source`, or `nil`.
    public func firstDifference(source: UnsafeRawPointer) -> (x: Int, y: Int)? {
        let g = geometry
        for y in 0..<g.height {
            let row = y * g.pitch
            // SAFETY: one visible row, inside both buffers.
            guard memcmp(source + row, base + row, g.rowBytes) != 0 else { continue }
            for x in 0..<g.width {
                let offset = row + x * FramebufferGeometry.bytesPerPixel
                if source.loadUnaligned(fromByteOffset: offset, as: UInt32.self)
                    != base.loadUnaligned(fromByteOffset: offset, as: UInt32.self) {
                    return (x, y)
                }
            }
        }
        return nil
    }

    /// Copies tiles `first ..< end` (all in one tile row) as one slice per pixel row.
    private func copyRun(_ first: Int, _ end: Int, grid: TileGrid, from source: UnsafeRawPointer) -> Int {
        let left = grid.rect(ofTile: first)
        let right = grid.rect(ofTile: end - 1)
        let bpp = FramebufferGeometry.bytesPerPixel
        let bytes = (right.maxX - left.x) * bpp
        var offset = left.y * geometry.pitch + left.x * bpp
        for _ in 0..<left.height {
            // SAFETY: the slice covers visible pixels of one row of the run, inside both buffers.
            (base + offset).copyMemory(from: source + offset, byteCount: bytes)
            offset += geometry.pitch
        }
        return bytes * left.height
    }
}
