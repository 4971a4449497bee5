import Display
import SplitView
import Testing

@Suite("Split view")
struct SplitViewTests {
    @Test("a split view shows the screen 1:1 and lights one cell per dirty page")
    func splitViewLayout() {
        let geometry = FramebufferGeometry(width: 64, height: 48)
        let grid = TileGrid(geometry: geometry, tile: TileSize(width: 16, height: 16))
        let shadow = ShadowFramebuffer(geometry: geometry)
        let source = [UInt32](repeating: 0x12_3456, count: 64 * 48)
        source.withUnsafeBytes { shadow.copyAll(from: $0.baseAddress!) }
        var canvas = PixelCanvas(width: 1, height: 1)
        let slot = PageMapSlot(name: "RAM", pageCount: 10, litWords: [0b101])
        renderSplitView(shadow: shadow, heat: nil, grid: grid, slots: [slot], round: 3, caption: ["hello"], into: &canvas)
        let size = splitViewCanvasSize(for: geometry, captionLines: 1)
        #expect(canvas.width == size.width && canvas.height == size.height)
        #expect(canvas.pixel(x: 16, y: 16 + 44) == 0x12_3456)  // screen's top-left pixel
        #expect(canvas.pixel(x: 16 + 63, y: 16 + 44 + 47) == 0x12_3456)  // bottom-right
        var litCells = 0
        let litColor: UInt32 = 0xFF_B347
        for y in (16 + 44 + 14)..<canvas.height { for x in (16 * 3 + 64)..<canvas.width where canvas.pixel(x: x, y: y) == litColor { litCells += 1 } }
        #expect(litCells == 2 * 13 * 13)  // pages 0 and 2, 16-pixel pitch, 13-pixel cells
    }
}
