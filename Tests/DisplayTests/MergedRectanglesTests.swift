import Testing
import Display
import TestSupport

@Suite("mergedRectangles")
struct MergedRectanglesTests {
    let grid = TileGrid(geometry: FramebufferGeometry(width: 200, height: 90, pitch: 1000), tile: TileSize(width: 32, height: 16))

    /// A small deterministic generator (the tests must be reproducible).

    @Test("without a cap, the rectangles cover exactly the dirty tiles' pixels, each once",
          arguments: [0.05, 0.3, 0.7, 1.0])
    func coverExactly(density: Double) {
        var rng = SplitMix(state: UInt64(density * 1000))
        let g = grid.geometry
        var out: [TileRect] = []
        for _ in 0..<50 {
            var dirty = DirtyTileBitmap(count: grid.count)
            for t in 0..<grid.count where Double.random(in: 0..<1, using: &rng) < density { dirty.set(t) }
            mergedRectangles(dirty, grid: grid, into: &out, maxRects: .max)

            var cover = [Int](repeating: 0, count: g.width * g.height)
            for r in out {
                for y in r.y..<r.maxY { for x in r.x..<r.maxX { cover[y * g.width + x] += 1 } }
            }
            for y in 0..<g.height {
                for x in 0..<g.width {
                    let expected = dirty.contains(grid.tile(atX: x, y: y)) ? 1 : 0
                    #expect(cover[y * g.width + x] == expected, "pixel (\(x), \(y))")
                }
            }
            #expect(out.count <= dirty.popCount)
        }
    }

    @Test("a full screen merges into one rectangle and a block into one")
    func blocksMerge() {
        var dirty = DirtyTileBitmap(count: grid.count)
        var out: [TileRect] = []
        dirty.setAll()
        mergedRectangles(dirty, grid: grid, into: &out)
        #expect(out == [TileRect(x: 0, y: 0, width: 200, height: 90)])

        dirty.clearAll()
        for t in [8, 9, 15, 16] { dirty.set(t) }  // columns 1-2 of tile rows 1-2 (7 columns)
        mergedRectangles(dirty, grid: grid, into: &out)
        #expect(out == [TileRect(x: 32, y: 16, width: 64, height: 32)])
    }

    @Test("runs of different extent stay separate rectangles")
    func differentRunsStaySeparate() {
        var dirty = DirtyTileBitmap(count: grid.count)
        var out: [TileRect] = []
        for t in [0, 1, 7] { dirty.set(t) }  // an L: two tiles in row 0, one below the first
        mergedRectangles(dirty, grid: grid, into: &out)
        #expect(out == [TileRect(x: 0, y: 0, width: 64, height: 16), TileRect(x: 0, y: 16, width: 32, height: 16)])
    }

    @Test("more rectangles than maxRects collapse into their bounding box")
    func capFallsBackToBoundingBox() {
        var dirty = DirtyTileBitmap(count: grid.count)
        var out: [TileRect] = []
        for t in [8, 10, 22] { dirty.set(t) }  // three isolated tiles
        mergedRectangles(dirty, grid: grid, into: &out, maxRects: 3)
        #expect(out.count == 3)
        mergedRectangles(dirty, grid: grid, into: &out, maxRects: 2)
        #expect(out == [TileRect(x: 32, y: 16, width: 96, height: 48)])
    }

    @Test("an empty bitmap gives no rectangles")
    func emptyGivesNone() {
        var out = [TileRect(x: 1, y: 1, width: 1, height: 1)]
        mergedRectangles(DirtyTileBitmap(count: grid.count), grid: grid, into: &out)
        #expect(out.isEmpty)
    }
}
