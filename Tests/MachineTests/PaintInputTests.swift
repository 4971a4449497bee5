import Foundation
import Input
import KVM
import Machine
import TestSupport
import XCTest

/// The paint guest under pointer, button and key events on real KVM: strokes exactly where
/// the pointer went, colours, clearing, erasing, and the same picture on two vCPUs.
final class PaintInputTests: XCTestCase, GuestInputFixtures {
    // paint at 320x200: the canvas is y >= 24, white; brush 3 covers (x - 1 ... x + 1, y - 1 ... y + 1).
    static let white: UInt32 = 0xFFFFFF, black: UInt32 = 0x000000, orange: UInt32 = 0xFB8C00

    /// Pixels a brush of `size` covers along axis-parallel segments through `points` (as paint
    /// stamps its square at every Bresenham step), clipped to the canvas.
    func strokeMask(_ points: [(Int, Int)], size: Int = 3, width: Int = 320, height: Int = 200) -> Set<Int> {
        var mask = Set<Int>()
        func stamp(_ x: Int, _ y: Int) {
            for yy in (y - size / 2)..<(y - size / 2 + size) where yy >= 24 && yy < height {
                for xx in (x - size / 2)..<(x - size / 2 + size) where xx >= 0 && xx < width { mask.insert(yy * width + xx) }
            }
        }
        stamp(points[0].0, points[0].1)
        for (a, b) in zip(points, points.dropFirst()) {
            precondition(a.0 == b.0 || a.1 == b.1, "axis-parallel segments only")
            var p = a
            while p != b {
                p.0 += (b.0 > p.0 ? 1 : b.0 < p.0 ? -1 : 0)
                p.1 += (b.1 > p.1 ? 1 : b.1 < p.1 ? -1 : 0)
                stamp(p.0, p.1)
            }
        }
        return mask
    }

    func canvasMismatches(_ r: GuestRun, mask: Set<Int>, ink: UInt32) -> Int {
        var bad = 0
        for y in 24..<r.height { for x in 0..<r.width {
            let want = mask.contains(y * r.width + x) ? ink : Self.white
            if r.at(x, y) != want { bad += 1 }
        } }
        return bad
    }

    func testPaintDrawsExactlyWhereThePointerWentWithTheButtonHeld() throws {
        let events: [Int: [InputEvent]] = [
            2: [.pointer(x: 50, y: 100)],
            3: [.button(.left, down: true)],
            4: [.pointer(x: 250, y: 100)],   // one jump of 200 px: the line fills it
            5: [.pointer(x: 250, y: 180)],
            6: [.button(.left, down: false)],
            7: [.pointer(x: 10, y: 150), .pointer(x: 100, y: 60)],  // moving without the button draws nothing
        ]
        let r = try runGuest("paint", frames: 9, events: events)
        let mask = strokeMask([(50, 100), (250, 100), (250, 180)])
        XCTAssertEqual(canvasMismatches(r, mask: mask, ink: Self.black), 0, "black exactly along the stroke, white elsewhere")
        XCTAssertEqual(r.cell(0, 0, 320, 24), try runGuest("paint", frames: 9).cell(0, 0, 320, 24), "the status strip is untouched")
        XCTAssertTrue(r.console.contains { $0.hasPrefix("paint: 320x200 cpu 0/1 brush=3") }, "\(r.console)")
    }

    func testPaintFastDiagonalMotionLeavesNoGaps() throws {
        let events: [Int: [InputEvent]] = [2: [.pointer(x: 20, y: 40), .button(.left, down: true)], 3: [.pointer(x: 300, y: 190)]]
        let r = try runGuest("paint", args: "brush=1", frames: 5, events: events)
        var inked = 0, gaps: [Int] = []
        for x in 20...300 {
            let column = (40...190).filter { r.at(x, $0) == Self.black }
            if column.isEmpty { gaps.append(x) }
            inked += column.count
        }
        XCTAssertEqual(gaps, [], "every column between the two positions has a pixel of the line")
        XCTAssertEqual(inked, 281, "a one-pixel Bresenham line: one pixel per column when |dx| > |dy|")
    }

    func testPaintKeysPickColoursAndClearAndRightButtonErases() throws {
        let stroke: [Int: [InputEvent]] = [
            2: [.key(code: Self.key3, down: true), .key(code: Self.key3, down: false), .pointer(x: 40, y: 60)],
            3: [.button(.left, down: true), .pointer(x: 200, y: 60), .button(.left, down: false)],
        ]
        let orange = try runGuest("paint", frames: 5, events: stroke)
        XCTAssertEqual(canvasMismatches(orange, mask: strokeMask([(40, 60), (200, 60)]), ink: Self.orange), 0, "key 3 picks orange")
        XCTAssertEqual(orange.at(4 + 2 * 28 - 2, 1), 0xFCE94F, "swatch 3 is highlighted")
        XCTAssertNotEqual(orange.at(4 - 2, 1), 0xFCE94F, "swatch 1 is not")

        let erase: [Int: [InputEvent]] = [4: [.pointer(x: 120, y: 60), .button(.right, down: true)], 5: [.pointer(x: 200, y: 60), .button(.right, down: false)]]
        let erased = try runGuest("paint", frames: 7, events: merged(stroke, erase))
        XCTAssertEqual(canvasMismatches(erased, mask: strokeMask([(40, 60), (200, 60)]).subtracting(strokeMask([(120, 60), (200, 60)])), ink: Self.orange), 0,
                       "the right button erased the stroke's right part")

        let cleared = try runGuest("paint", frames: 7, events: merged(stroke, typing([Self.keyC], from: 5)))
        XCTAssertEqual(canvasMismatches(cleared, mask: [], ink: Self.orange), 0, "C clears the canvas")
    }

    func testPaintSameEventsSamePictureAndTwoVCPUsDrawTheSame() throws {
        var rng = SystemRandomNumberGenerator()
        var events: [Int: [InputEvent]] = [:]
        for f in 2...30 {
            var list: [InputEvent] = []
            for _ in 0..<Int.random(in: 0...6, using: &rng) {
                switch Int.random(in: 0..<10, using: &rng) {
                case 0: list.append(.button(.left, down: Bool.random(using: &rng)))
                case 1: list.append(.key(code: UInt16.random(in: 2...9, using: &rng), down: true))
                case 2: list.append(.wheel(vertical: Int32.random(in: -2...2, using: &rng), horizontal: 0))
                default: list.append(.pointer(x: Int32.random(in: -20...340, using: &rng), y: Int32.random(in: -20...220, using: &rng)))
                }
            }
            events[f] = list
        }
        let a = try runGuest("paint", frames: 32, events: events)
        let b = try runGuest("paint", frames: 32, events: events)
        assertSamePicture(a, b, "the same events give the same picture")
        for _ in 0..<4 {  // a vCPU that read the log before vCPU 0 wrote the frame would show here (sometimes)
            let two = try runGuest("paint", cpus: 2, frames: 32, events: events)
            assertSamePicture(a, two, "two vCPUs (each drawing its band) apply the same events at the same frames")
        }
    }
}
