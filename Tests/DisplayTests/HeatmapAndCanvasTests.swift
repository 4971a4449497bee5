import Testing
import Display

@Suite("DirtyHeatmap and PixelCanvas")
struct HeatmapAndCanvasTests {
    @Test("a repainted tile is hottest at once and cold after the window")
    func heatFades() {
        var heat = DirtyHeatmap(count: 3, window: 4)
        var dirty = DirtyTileBitmap(count: 3)
        #expect(heat.intensity(ofTile: 1) == 0)  // never repainted
        dirty.set(1)
        heat.age(marking: dirty)
        #expect(heat.intensity(ofTile: 1) == 255 && heat.intensity(ofTile: 0) == 0)
        dirty.clearAll()
        var previous = 255
        for _ in 1..<4 {
            heat.age(marking: dirty)
            let now = Int(heat.intensity(ofTile: 1))
            #expect(now > 0 && now < previous)
            previous = now
        }
        heat.age(marking: dirty)
        #expect(heat.intensity(ofTile: 1) == 0)
    }

    @Test("tinting changes exactly the hot tiles and outlines the fresh ones")
    func tintTouchesOnlyHotTiles() {
        let geometry = FramebufferGeometry(width: 20, height: 10)
        let grid = TileGrid(geometry: geometry, tile: TileSize(width: 8, height: 8))
        var heat = DirtyHeatmap(count: grid.count)
        var dirty = DirtyTileBitmap(count: grid.count)
        dirty.set(1)
        heat.age(marking: dirty)
        var canvas = PixelCanvas(width: 30, height: 20, background: 0x80_8080)
        canvas.tint(screenAtX: 5, y: 5, grid: grid, heat: heat)
        for y in 0..<20 {
            for x in 0..<30 {
                let inTile1 = x >= 5 + 8 && x < 5 + 16 && y >= 5 && y < 5 + 8
                #expect((canvas.pixel(x: x, y: y) != 0x80_8080) == inTile1, "pixel (\(x), \(y))")
            }
        }
        #expect(canvas.pixel(x: 13, y: 5) == 0xFF_3030)  // outline
    }

    @Test("text draws font pixels in the given colour, clipped at the edge")
    func drawText() {
        var canvas = PixelCanvas(width: 20, height: 10)
        let end = canvas.drawText("I|", x: 2, y: 1, color: 0xFF_FFFF)
        #expect(end == 18)
        // 'I' row 0 is 0x1E: pixels 1...4 of the glyph.
        #expect((0..<8).map { canvas.pixel(x: 2 + $0, y: 1) == 0xFF_FFFF } == [false, true, true, true, true, false, false, false])
        var lit = 0
        for y in 0..<10 { for x in 0..<20 where canvas.pixel(x: x, y: y) != 0 { lit += 1 } }
        #expect(lit == 2 * 4 + 5 * 2 + 6 * 2)  // 'I' = 2 rows of 4 + 5 rows of 2; '|' = 6 rows of 2
        canvas.drawText("W", x: 16, y: 6, color: 1, scale: 2)  // mostly off-canvas: must not trap
    }
}
