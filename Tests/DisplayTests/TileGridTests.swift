import Testing
@testable import Display

/// The page -> tiles table, checked against a brute-force walk over every pixel.
@Suite("TileGrid")
struct TileGridTests {
    /// Every tile any visible pixel of each page lies in, computed pixel by pixel.
    static func referenceTiles(_ grid: TileGrid) -> [Set<Int>] {
        let g = grid.geometry
        var pages = [Set<Int>](repeating: [], count: grid.pageCount)
        for y in 0..<g.height {
            for x in 0..<g.width {
                let offset = y * g.pitch + x * 4
                pages[offset / grid.pageSize].insert(grid.tile(atX: x, y: y))
            }
        }
        return pages
    }

    @Test("the page table matches a pixel-by-pixel walk for odd geometries",
          arguments: [
              (FramebufferGeometry(width: 1280, height: 800), TileSize(width: 64, height: 32)),
              (FramebufferGeometry(width: 100, height: 37, pitch: 100 * 4 + 48), TileSize(width: 64, height: 16)),
              (FramebufferGeometry(width: 641, height: 11, pitch: 4096), TileSize(width: 50, height: 3)),
              (FramebufferGeometry(width: 16, height: 40, pitch: 8192), TileSize(width: 8, height: 8)),
              (FramebufferGeometry(width: 3, height: 1000), TileSize(width: 2, height: 7)),
              (FramebufferGeometry(width: 1000, height: 7, pitch: 4004), TileSize(width: 999, height: 1)),
          ])
    func pageTableMatchesReference(geometry: FramebufferGeometry, tile: TileSize) {
        let grid = TileGrid(geometry: geometry, tile: tile)
        let reference = Self.referenceTiles(grid)
        #expect(grid.pageCount == (geometry.byteCount + 4095) / 4096)
        for page in 0..<grid.pageCount {
            #expect(Set(grid.tiles(ofPage: page)) == reference[page], "page \(page)")
            #expect(grid.tiles(ofPage: page) == grid.tiles(ofPage: page).sorted(), "page \(page) sorted")
        }
    }

    @Test("tiles in the last column and row are clipped to the framebuffer edge")
    func edgeTilesAreClipped() {
        let grid = TileGrid(geometry: FramebufferGeometry(width: 100, height: 10), tile: TileSize(width: 64, height: 8))
        #expect(grid.columns == 2 && grid.rows == 2 && grid.count == 4)
        #expect(grid.rect(ofTile: 0) == TileRect(x: 0, y: 0, width: 64, height: 8))
        #expect(grid.rect(ofTile: 1) == TileRect(x: 64, y: 0, width: 36, height: 8))
        #expect(grid.rect(ofTile: 3) == TileRect(x: 64, y: 8, width: 36, height: 2))
    }

    @Test("a page straddling two rows marks tiles in both tile rows, only as far as its bytes reach")
    func pageStraddlesRows() {
        // 640 px = 2560 bytes per row: page 0 is row 0 and pixels 0...383 of row 1.
        let grid = TileGrid(geometry: FramebufferGeometry(width: 640, height: 4), tile: TileSize(width: 64, height: 1))
        #expect(grid.tiles(ofPage: 0) == Array(0...9) + Array(10...15))
        // Page 1 starts at pixel 384 of row 1 (tile 16) and ends at pixel 127 of row 3.
        #expect(grid.tiles(ofPage: 1) == Array(16...19) + Array(20...29) + [30, 31])
    }

    @Test("a page spanning one row marks every tile across that row")
    func pageStraddlesTiles() {
        let grid = TileGrid(geometry: FramebufferGeometry(width: 1024, height: 128), tile: TileSize(width: 64, height: 64))
        #expect(grid.tiles(ofPage: 0) == Array(0..<16))
        #expect(grid.tiles(ofPage: 64) == Array(16..<32))
    }

    @Test("bytes in the pitch padding belong to no tile")
    func paddingBelongsToNoTile() {
        // 16 px (64 bytes) of each 8192-byte row are visible: odd pages hold only padding.
        let grid = TileGrid(geometry: FramebufferGeometry(width: 16, height: 4, pitch: 8192), tile: TileSize(width: 8, height: 8))
        #expect(grid.tiles(ofPage: 0) == [0, 1])
        #expect(grid.tiles(ofPage: 1).isEmpty)
        var bitmap = DirtyTileBitmap(count: grid.count)
        grid.markPage(1, in: &bitmap)
        #expect(bitmap.isEmpty)
    }

    @Test("the last, partial page is covered and pages beyond the framebuffer are ignored")
    func lastPartialPage() {
        // 5120 * 801 bytes = 1001.25 pages.
        let grid = TileGrid(geometry: FramebufferGeometry(width: 1280, height: 801), tile: TileSize(width: 64, height: 32))
        #expect(grid.pageCount == 1002)
        // The last 1024 bytes: pixels 1024...1279 of row 800 (tile row 25, columns 16...19).
        #expect(grid.tiles(ofPage: 1001) == [516, 517, 518, 519])
        var bitmap = DirtyTileBitmap(count: grid.count)
        grid.markPage(1002, in: &bitmap)
        grid.markPage(-1, in: &bitmap)
        grid.markPage(Int.max, in: &bitmap)
        #expect(bitmap.isEmpty)
        grid.markPage(1001, in: &bitmap)
        #expect(bitmap.popCount == 4)
    }

    @Test("marking pages sets the union of their tiles")
    func markPagesUnion() {
        let grid = TileGrid(geometry: FramebufferGeometry(width: 640, height: 4), tile: TileSize(width: 64, height: 1))
        var bitmap = DirtyTileBitmap(count: grid.count)
        grid.markPages([0, 1], in: &bitmap)
        var marked: [Int] = []
        bitmap.forEachSet { marked.append($0) }
        #expect(marked == Array(0...31))
    }

    @Test("tile sizes parse from WxH")
    func tileSizeParsing() {
        #expect(TileSize(parsing: "64x32") == TileSize(width: 64, height: 32))
        #expect(TileSize(parsing: "8X8") == TileSize(width: 8, height: 8))
        for bad in ["", "64", "64x", "x32", "0x32", "-1x4", "64x32x2", "axb"] {
            #expect(TileSize(parsing: bad) == nil, "\(bad)")
        }
    }
}
