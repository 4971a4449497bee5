import Display
import Window
import XCTest

/// Placement math; no screen needed.
final class LetterboxTests: XCTestCase {
    func testSameSizeIsOneToOneAtTheOrigin() {
        let box = Letterbox(contentWidth: 1280, contentHeight: 800, windowWidth: 1280, windowHeight: 800, nearest: false)
        XCTAssertEqual(box.placement, TileRect(x: 0, y: 0, width: 1280, height: 800))
        XCTAssertTrue(box.isOneToOne)
        XCTAssertFalse(box.smooth)
        XCTAssertEqual(box.windowRect(covering: TileRect(x: 64, y: 16, width: 64, height: 16)),
                       TileRect(x: 64, y: 16, width: 64, height: 16))
    }

    func testAWiderWindowKeepsTheAspectWithBarsLeftAndRight() {
        let box = Letterbox(contentWidth: 1280, contentHeight: 800, windowWidth: 1920, windowHeight: 1000, nearest: false)
        XCTAssertEqual(box.placement, TileRect(x: 160, y: 0, width: 1600, height: 1000))
        XCTAssertTrue(box.smooth)
    }

    func testATallerWindowKeepsTheAspectWithBarsAboveAndBelow() {
        let box = Letterbox(contentWidth: 1280, contentHeight: 800, windowWidth: 640, windowHeight: 1000, nearest: false)
        XCTAssertEqual(box.placement, TileRect(x: 0, y: 300, width: 640, height: 400))
    }

    func testNearestZoomIsTheLargestWholeFactorThatFits() {
        let box = Letterbox(contentWidth: 320, contentHeight: 200, windowWidth: 1000, windowHeight: 700, nearest: true)
        XCTAssertEqual(box.placement, TileRect(x: 20, y: 50, width: 960, height: 600))
        XCTAssertFalse(box.smooth)
        XCTAssertEqual(box.windowRect(covering: TileRect(x: 10, y: 20, width: 5, height: 1)),
                       TileRect(x: 20 + 30, y: 50 + 60, width: 15, height: 3))
    }

    func testNearestInASmallerWindowShrinksToFit() {
        let box = Letterbox(contentWidth: 1280, contentHeight: 800, windowWidth: 640, windowHeight: 480, nearest: true)
        XCTAssertEqual(box.placement, TileRect(x: 0, y: 40, width: 640, height: 400))
        XCTAssertFalse(box.smooth)
    }

    /// The window rectangle for a picture rectangle is exactly the set of window pixels whose
    /// nearest-neighbour sample (the rule of csdl_blit) falls inside it.
    func testNearestWindowRectIsExactlyThePixelsThatSampleTheRect() {
        for (cw, pw) in [(1280, 1000), (100, 333), (64, 64 * 3), (97, 41)] {
            let box = Letterbox(contentWidth: cw, contentHeight: 10, windowWidth: pw, windowHeight: 10_000, nearest: true)
            let placed = box.placement.width
            let sample = (0..<placed).map { (2 * $0 + 1) * cw / (2 * placed) }
            for (a, b) in [(0, 1), (3, 9), (cw / 2, cw), (cw - 1, cw), (5, 6)] where b <= cw {
                let r = box.windowRect(covering: TileRect(x: a, y: 0, width: b - a, height: 1))
                let expected = sample.indices.filter { sample[$0] >= a && sample[$0] < b }
                let got = Array((r.x - box.placement.x)..<(r.maxX - box.placement.x))
                XCTAssertEqual(got, expected, "content \(cw) shown \(placed) wide, columns \(a)..<\(b)")
            }
        }
    }
}
