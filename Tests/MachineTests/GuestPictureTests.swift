import KVM
import Machine
import TestSupport
import XCTest

/// Every built-in guest draws what assets/guests/README.md says it draws, and its picture is
/// a function of its arguments, the geometry and the frame number (two runs, same bytes).
final class GuestPictureTests: XCTestCase {
    static let width = 320, height = 200

    /// The framebuffer (visible pixels) after exactly `frames` frames.
    func picture(_ guest: String, args: String = "", frames: Int, ramMiB: UInt64 = 16) throws -> (pixels: [UInt32], machine: Machine) {
        let r = try runGuest(guest, args: args, width: Self.width, height: Self.height, ramMiB: ramMiB, frames: frames, timeout: 30)
        return (r.pixels, r.machine)
    }

    func differing(_ a: [UInt32], _ b: [UInt32]) -> Int { zip(a, b).filter { $0 != $1 }.count }

    func testEveryGuestsPictureIsAFunctionOfItsFrameNumber() throws {
        for (guest, args) in [("desktop", ""), ("terminal", "lines=3"), ("bounce", ""), ("plasma", ""), ("idle", ""), ("pattern", ""), ("pagewriter", "pages=50"), ("alternate", "period=4")] {
            let a = try picture(guest, args: args, frames: 6).pixels
            let b = try picture(guest, args: args, frames: 6).pixels
            XCTAssertEqual(a, b, "\(guest): two runs to frame 6 end on the same picture")
        }
    }

    func testPlasmaChangesEveryPixelAndDesktopIsSparse() throws {
        let p5 = try picture("plasma", frames: 5).pixels, p6 = try picture("plasma", frames: 6).pixels
        XCTAssertGreaterThan(differing(p5, p6), p5.count * 9 / 10, "plasma: (nearly) every pixel changes every frame")
        let d5 = try picture("desktop", frames: 5).pixels, d6 = try picture("desktop", frames: 6).pixels
        XCTAssertGreaterThan(d5.filter { $0 != 0 }.count, d5.count * 99 / 100, "desktop: gradient background and windows everywhere")
        let changed = differing(d5, d6)
        XCTAssertGreaterThan(changed, 0, "desktop: the cursor moves every frame")
        XCTAssertLessThan(changed, 2 * 12 * 19 + 200, "desktop: frames after the first change only the cursor (12x19, save-under) and the clock")
    }

    /// alternate period=4: frames 1-4 quiet (background + an 8x8 marker moving 4 px a
    /// frame), 5-8 animated (every pixel is ramp((x/2 + y/2 + 5n) & 255)), 9-12 quiet again.
    func testAlternateTakesTurnsBetweenAQuietPictureAndAFullScreenAnimation() throws {
        let w = Self.width, h = Self.height
        func ramp(_ v: Int) -> UInt32 { UInt32(v << 16 | (255 - v) << 8 | (3 * v) & 255) }
        let a6 = try picture("alternate", args: "period=4", frames: 6).pixels
        let a7 = try picture("alternate", args: "period=4", frames: 7).pixels
        for (n, pic) in [(6, a6), (7, a7)] {
            for y in stride(from: 0, to: h, by: 7) {
                for x in stride(from: 0, to: w, by: 5) {
                    XCTAssertEqual(pic[y * w + x], ramp((x / 2 + y / 2 + 5 * n) & 255), "frame \(n) at (\(x), \(y))")
                }
            }
        }
        XCTAssertEqual(differing(a6, a7), a6.count, "animated: every pixel changes every frame")
        let q2 = try picture("alternate", args: "period=4", frames: 2).pixels
        let q3 = try picture("alternate", args: "period=4", frames: 3).pixels
        let q10 = try picture("alternate", args: "period=4", frames: 10).pixels
        XCTAssertEqual(q2, q10, "frame 10 is the second frame of the next quiet phase: the same picture as frame 2")
        let changed = differing(q2, q3)
        XCTAssertGreaterThan(changed, 0, "the marker moves")
        XCTAssertLessThanOrEqual(changed, 2 * 8 * 8, "quiet: only the marker's old and new squares change")
        let markerX = 8 + 4 * 1, markerY = h / 2 - 4
        XCTAssertEqual(q2[(markerY + 3) * w + markerX + 3], 0xF0C020, "frame 2's marker at x = 8 + 4k, k = 1")
    }

    func testBounceDirtiesAtMostTwiceItsSpritesArea() throws {
        let b5 = try picture("bounce", args: "sprites=4 size=16", frames: 5).pixels
        let b6 = try picture("bounce", args: "sprites=4 size=16", frames: 6).pixels
        let changed = differing(b5, b6)
        XCTAssertGreaterThan(changed, 0)
        XCTAssertLessThanOrEqual(changed, 2 * 4 * 16 * 16, "erase at the old place, draw at the new: ~2 * sprites * size^2")
        var counts: [UInt32: Int] = [:]
        for p in b5 { counts[p, default: 0] += 1 }
        XCTAssertGreaterThan(counts.values.max() ?? 0, b5.count / 2, "a solid background covers most of the screen")
    }

    func testIdleDrawsAPromptOnBlackAndItsCursorBlinks() throws {
        let on = try picture("idle", frames: 5).pixels    // cursor visible in frames 1...30
        let off = try picture("idle", frames: 35).pixels  // hidden in 31...60
        XCTAssertGreaterThan(on.filter { $0 == 0 }.count, on.count * 95 / 100, "a black screen")
        XCTAssertGreaterThan(on.filter { $0 != 0 }.count, off.filter { $0 != 0 }.count, "the block cursor is gone in frame 35")
        XCTAssertGreaterThan(off.filter { $0 != 0 }.count, 0, "the prompt stays")
    }

    func testTerminalPrintsTextInAFewColours() throws {
        let t = try picture("terminal", args: "lines=3", frames: 5).pixels
        XCTAssertGreaterThan(t.filter { $0 != 0 }.count, 100, "text was printed")
        XCTAssertLessThanOrEqual(Set(t).count, 16, "an 8x16 bitmap font in a few colours, not a gradient")
    }

    /// pagewriter's documented algorithm (README, "pagewriter"): after frame N the first
    /// 8 bytes of each page picked hold the last frame that picked it; nothing else is written.
    func testPagewriterWritesExactlyTheDocumentedPages() throws {
        let frames = 5, pages = 40, seed: UInt64 = 7
        let (_, m) = try picture("pagewriter", args: "pages=\(pages) seed=\(seed)", frames: frames)
        let heapGPA = (m.config.image.end + 0xFFF) & ~0xFFF // the boot info's heap address
        let heapSize = m.config.ramBytes - heapGPA
        let P = Int(heapSize / 4096)
        let pitch = Self.width * 4
        let f1 = (Self.height * pitch + 4095) / 4096
        let T = UInt64(P + f1)
        var state = seed
        var expectedHeap: [Int: UInt64] = [:], expectedFB: [Int: UInt64] = [:]
        for n in 1...frames {
            for _ in 0..<pages {
                state &+= 0x9E37_79B9_7F4A_7C15
                var z = state
                z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
                z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
                let c = Int((z ^ (z >> 31)) % T)
                if c < P { expectedHeap[c] = UInt64(n) } else { expectedFB[c - P] = UInt64(n) }
            }
        }
        for p in 0..<P {
            let v = m.ram.base.load(fromByteOffset: Int(heapGPA) + p * 4096, as: UInt64.self)
            if v != expectedHeap[p] ?? 0 { return XCTFail("heap page \(p) holds \(v), expected \(expectedHeap[p] ?? 0)") }
        }
        for q in 0..<f1 {
            let v = m.framebuffer.base.load(fromByteOffset: q * 4096, as: UInt64.self)
            if v != expectedFB[q] ?? 0 { return XCTFail("framebuffer page \(q) holds \(v), expected \(expectedFB[q] ?? 0)") }
        }
        XCTAssertGreaterThan(expectedHeap.count + expectedFB.count, pages, "pages were picked across frames")
    }
}
