/// Cuts a framebuffer into tiles and knows, for every 4 KiB page of the framebuffer's
/// bytes, which tiles that page touches.
///
/// Tiles are numbered row-major: tile `i` is in tile row `i / columns`, tile column
/// `i % columns`. Tiles in the last column and row are clipped to the framebuffer edge.
///
/// Pages are numbered from the first byte of the framebuffer: page `p` holds bytes
/// `p * pageSize ..< (p + 1) * pageSize`. A page marks every tile that any of its visible
/// bytes belongs to; bytes in the row padding (between `width * 4` and `pitch`) belong to
/// no tile, and pages at or past `pageCount` are ignored.
///
/// The page-to-tiles table is built once in `init` as two flat arrays (compressed sparse
/// rows: `pageTileStart[p] ..< pageTileStart[p + 1]` indexes `pageTiles`), so folding a
/// harvested page into the bitmap costs a few array reads and no allocation.
///
/// Immutable after `init` (every property a `let`), so it may be shared between threads.
public final class TileGrid: Sendable {
    /// The framebuffer this grid cuts.
    public let geometry: FramebufferGeometry
    /// The tile size (the last column and row may be narrower/shorter).
    public let tile: TileSize
    /// Bytes per page (4096 on x86).
    public let pageSize: Int
    /// Tiles per tile row.
    public let columns: Int
    /// Tile rows.
    public let rows: Int
    /// Pages covering `geometry.byteCount` bytes (the last one may be partial).
    public let pageCount: Int

    /// `pageTileStart[p] ..< pageTileStart[p + 1]` is the range of `pageTiles` for page `p`.
    private let pageTileStart: [Int32]
    /// Tile indices, grouped by page, ascending within a page.
    private let pageTiles: [Int32]

    /// Number of tiles: `columns * rows`.
    public var count: Int { columns * rows }

    /// Cuts `geometry` into `tile`-sized tiles and precomputes which tiles each page touches.
    /// - Precondition: `pageSize > 0`.
    public init(geometry: FramebufferGeometry, tile: TileSize, pageSize: Int = 4096) {
        precondition(pageSize > 0, "page size must be positive")
        self.geometry = geometry
        self.tile = tile
        self.pageSize = pageSize
        columns = (geometry.width + tile.width - 1) / tile.width
        rows = (geometry.height + tile.height - 1) / tile.height
        pageCount = (geometry.byteCount + pageSize - 1) / pageSize
        (pageTileStart, pageTiles) = Self.buildPageTable(
            geometry: geometry, tile: tile, pageSize: pageSize,
            columns: columns, tileCount: columns * rows, pageCount: pageCount)
    }

    /// The pixels of tile `i`, clipped at the right and bottom edges of the framebuffer.
    public func rect(ofTile i: Int) -> TileRect {
        precondition(i >= 0 && i < count, "tile \(i) out of range 0..<\(count)")
        let x = (i % columns) * tile.width
        let y = (i / columns) * tile.height
        return TileRect(x: x, y: y,
                        width: min(tile.width, geometry.width - x),
                        height: min(tile.height, geometry.height - y))
    }

    /// The index of the tile containing pixel (`x`, `y`).
    public func tile(atX x: Int, y: Int) -> Int {
        (y / tile.height) * columns + x / tile.width
    }

    /// The tiles page `page` touches, ascending; empty for a page that holds only padding
    /// or lies outside the framebuffer.
    public func tiles(ofPage page: Int) -> [Int] {
        guard page >= 0 && page < pageCount else { return [] }
        return pageTiles[Int(pageTileStart[page])..<Int(pageTileStart[page + 1])].map { Int($0) }
    }

    /// Marks in `bitmap` every tile any visible byte of `page` touches.
    /// Pages outside the framebuffer (`< 0` or `>= pageCount`) are ignored.
    @inline(__always)
    public func markPage(_ page: Int, in bitmap: inout DirtyTileBitmap) {
        guard page >= 0 && page < pageCount else { return }
        var i = Int(pageTileStart[page])
        let end = Int(pageTileStart[page + 1])
        while i < end {
            bitmap.set(Int(pageTiles[i]))
            i += 1
        }
    }

    /// Marks the tiles of every page in `pages` (see `markPage`).
    public func markPages(_ pages: some Sequence<Int>, in bitmap: inout DirtyTileBitmap) {
        for page in pages { markPage(page, in: &bitmap) }
    }

    /// Marks the tiles of every page in a harvested batch: one call per batch, so the loop
    /// over pages and table entries runs inside this module, without a call per page.
    public func markPages(_ pages: UnsafeBufferPointer<UInt64>, in bitmap: inout DirtyTileBitmap) {
        pageTileStart.withUnsafeBufferPointer { starts in
            pageTiles.withUnsafeBufferPointer { tiles in
                for p in pages where p < UInt64(pageCount) {
                    let page = Int(p)
                    for i in Int(starts[page])..<Int(starts[page + 1]) { bitmap.set(Int(tiles[i])) }
                }
            }
        }
    }

    /// Builds the page-to-tiles table: for each page, walk the framebuffer rows its bytes
    /// cover, clip each row's slice to the visible bytes, and record the tile columns it hits.
    private static func buildPageTable(
        geometry g: FramebufferGeometry, tile: TileSize, pageSize: Int,
        columns: Int, tileCount: Int, pageCount: Int
    ) -> ([Int32], [Int32]) {
        var starts = [Int32]()
        starts.reserveCapacity(pageCount + 1)
        var tiles = [Int32]()
        tiles.reserveCapacity(pageCount * 2)
        // lastPage[t] == p while building page p: t is already recorded for p.
        var lastPage = [Int](repeating: -1, count: tileCount)
        let tileBytes = tile.width * FramebufferGeometry.bytesPerPixel

        for page in 0..<pageCount {
            starts.append(Int32(tiles.count))
            let first = tiles.count
            let start = page * pageSize
            let end = min(start + pageSize, g.byteCount)
            var y = start / g.pitch
            while y < g.height && y * g.pitch < end {
                let rowStart = y * g.pitch
                let lo = max(start, rowStart) - rowStart
                let hi = min(end - rowStart, g.rowBytes)
                if lo < hi {
                    let tileRowBase = (y / tile.height) * columns
                    for column in (lo / tileBytes)...((hi - 1) / tileBytes) {
                        let t = tileRowBase + column
                        if lastPage[t] != page {
                            lastPage[t] = page
                            tiles.append(Int32(t))
                        }
                    }
                }
                y += 1
            }
            tiles[first...].sort()
        }
        starts.append(Int32(tiles.count))
        return (starts, tiles)
    }
}
