import Display
import XCTest

/// The cursor plane's pure parts: bounds from the hot spot, alpha blending, compositing clipped
/// to a region, and shapes out of bounds refused.
final class CursorPlaneTests: XCTestCase {
    func shape(_ pixels: [UInt32], _ w: Int, _ h: Int, hot: (Int, Int) = (0, 0)) -> CursorShape {
        CursorShape(width: w, height: h, hotX: hot.0, hotY: hot.1, pixels: pixels, serial: 1)!
    }

    func testBoundsFollowTheHotSpotAndAHiddenCursorCoversNothing() {
        var c = CursorState(shape: shape([UInt32](repeating: 0xFF00_0000, count: 6), 3, 2, hot: (1, 1)), x: 10, y: 20, visible: true)
        XCTAssertEqual(c.bounds, TileRect(x: 9, y: 19, width: 3, height: 2))
        c.visible = false
        XCTAssertEqual(c.bounds.area, 0)
    }

    func testBlendIsStraightAlphaPerChannel() {
        XCTAssertEqual(CursorState.blend(0xFF12_3456, over: 0xABCDEF), 0x123456, "opaque replaces")
        XCTAssertEqual(CursorState.blend(0x0012_3456, over: 0xABCDEF), 0xABCDEF, "transparent keeps")
        XCTAssertEqual(CursorState.blend(0x80FF_FFFF, over: 0x000000), 0x808080, "half white over black: (255 * 128 + 127) / 255 = 128")
    }

    func testCompositeWritesOnlyTheCursorInsideTheRegion() {
        let c = CursorState(shape: shape([0xFF11_1111, 0, 0xFF22_2222, 0xFF33_3333], 2, 2), x: 3, y: 1, visible: true)
        // A 4x3 region whose top-left is the framebuffer's (2, 0): the cursor covers (3...4, 1...2).
        var region = [UInt32](repeating: 0xAAAAAA, count: 12)
        region.withUnsafeMutableBytes { c.composite(into: $0.baseAddress!, originX: 2, originY: 0, width: 4, height: 3, pitch: 16) }
        XCTAssertEqual(region, [0xAAAAAA, 0xAAAAAA, 0xAAAAAA, 0xAAAAAA,
                                0xAAAAAA, 0x111111, 0xAAAAAA, 0xAAAAAA,
                                0xAAAAAA, 0x222222, 0x333333, 0xAAAAAA])
        var canvas = PixelCanvas(width: 4, height: 2, background: 0xAAAAAA)
        canvas.composite(c)
        XCTAssertEqual(canvas.pixels, [0xAAAAAA, 0xAAAAAA, 0xAAAAAA, 0xAAAAAA, 0xAAAAAA, 0xAAAAAA, 0xAAAAAA, 0x111111], "clipped to the canvas")
    }

    func testShapesOutOfBoundsAreRefused() {
        XCTAssertNil(CursorShape(width: 65, height: 1, hotX: 0, hotY: 0, pixels: [UInt32](repeating: 0, count: 65), serial: 0))
        XCTAssertNil(CursorShape(width: 2, height: 2, hotX: 2, hotY: 0, pixels: [0, 0, 0, 0], serial: 0))
        XCTAssertNil(CursorShape(width: 2, height: 2, hotX: 0, hotY: 0, pixels: [0, 0, 0], serial: 0))
        XCTAssertNil(CursorShape(width: 0, height: 2, hotX: 0, hotY: 0, pixels: [], serial: 0))
    }
}
