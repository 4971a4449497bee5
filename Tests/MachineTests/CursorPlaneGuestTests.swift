import Foundation
import Input
import KVM
import Machine
import TestSupport
import XCTest

/// The cursor plane (guest ABI version 4) on real KVM: what a version-4 guest finds, that older
/// images find nothing new, and that `desktop` and `paint` move their pointer there without
/// writing a framebuffer pixel.
final class CursorPlaneGuestTests: XCTestCase {
    func u32(_ m: Machine, _ gpa: Int) -> UInt32 { m.ram.pointer(at: gpa).loadUnaligned(as: UInt32.self) }
    func u64(_ m: Machine, _ gpa: Int) -> UInt64 { m.ram.pointer(at: gpa).loadUnaligned(as: UInt64.self) }

    func testAVersion4GuestFindsTheCursorPageAndAnOlderOneFindsZeros() throws {
        let v4 = try runGuest("pattern", frames: 3)
        XCTAssertEqual(u32(v4.machine, 0x4004), 4, "the built-in guests declare version 4")
        XCTAssertEqual(u64(v4.machine, 0x4000 + 120), 0x8000, "cursor_gpa")
        XCTAssertEqual(u32(v4.machine, 0x8000), 0x5543_5352, "the page's magic, RSCU")
        XCTAssertEqual(u32(v4.machine, 0x8004), 64, "max_size")
        XCTAssertEqual(u64(v4.machine, 0x8000 + 48), 0x9000, "pixels_gpa")
        XCTAssertNil(v4.machine.cursor.read(), "pattern sets no cursor")

        let system = try requireKVM()
        var config = MachineConfig(image: try GuestImage(bytes: restampingNote(of: try builtInImageBytes("pattern"), to: 3), path: "p3", name: "p3"))
        config.width = 320
        config.height = 200
        config.ramBytes = 16 << 20
        config.frameLimit = 3
        let m = try Machine(system: system, config: config)
        m.start()
        guard case .framesCompleted = try XCTUnwrap(m.wait(seconds: 120)) else { return XCTFail("the version-3 image did not finish") }
        XCTAssertEqual(u32(m, 0x4004), 3)
        XCTAssertEqual(u64(m, 0x4000 + 120), 0, "no cursor_gpa in a version-3 block")
        XCTAssertEqual((0..<0x5000).filter { m.ram.pointer(at: 0x8000 + $0).load(as: UInt8.self) != 0 }.count, 0, "the cursor pages stay zero")
        XCTAssertNil(m.cursor.read())
    }

    /// desktop: the scripted cursor is drawn (the sparse workload); once the pointer leads, the
    /// drawn cursor is removed and the plane shows the 12x19 arrow at the pointer.
    func testDesktopMovesItsPointerInThePlaneNotTheFramebuffer() throws {
        let quiet = try runGuest("desktop", args: "windows=0", frames: 1) // its drawn cursor is near (164, 176)
        let moved = try runGuest("desktop", args: "windows=0", frames: 8,
                                 events: [2: [.pointer(x: 40, y: 30)], 4: [.pointer(x: 200, y: 100)], 6: [.pointer(x: 100, y: 150)]])
        let c = try XCTUnwrap(moved.machine.cursor.read(), "desktop set a cursor")
        XCTAssertTrue(c.visible)
        XCTAssertEqual([c.x, c.y], [100, 150], "the hot spot is the last pointer position")
        XCTAssertEqual([c.width, c.height, c.hotX, c.hotY], [12, 19, 0, 0])
        XCTAssertEqual(c.pixels[0], 0xFF00_0000, "the tip is opaque black")
        XCTAssertEqual(c.pixels[2 * 12 + 1], 0xFFFF_FFFF, "the fill is opaque white")
        XCTAssertEqual(c.pixels[11], 0, "outside the arrow is transparent")
        // The framebuffer holds the scene alone: the background, no arrow, where the pointer went.
        for (x, y) in [(40, 30), (200, 100), (100, 150), (101, 152), (102, 155)] {
            XCTAssertEqual(moved.at(x, y), quiet.at(x, y), "no cursor pixel at (\(x), \(y))")
        }
    }

    func testPaintShowsACrosshairInThePlaneAfterThePointerMoves() throws {
        let before = try runGuest("paint", frames: 3)
        XCTAssertEqual(before.machine.cursor.read()?.visible, false, "paint's crosshair is hidden until the pointer moves")
        let after = try runGuest("paint", frames: 4, events: [2: [.pointer(x: 120, y: 90)]])
        let c = try XCTUnwrap(after.machine.cursor.read())
        XCTAssertEqual([Int(c.x), Int(c.y), c.width, c.height, c.hotX, c.hotY], [120, 90, 11, 11, 5, 5])
        XCTAssertEqual(c.pixels[5 * 11 + 5], 0xFF00_0000, "a black centre")
        XCTAssertEqual(c.pixels[0], 0, "transparent corners")
        XCTAssertEqual(after.at(120, 90), 0xFFFFFF, "the canvas under the crosshair stays white")
    }

    /// The plane is guest RAM: a snapshot carries it, so a restored guest shows the same cursor
    /// before it runs and after (as a migration does: it sends RAM pages, this one among them).
    func testASnapshotCarriesTheCursor() throws {
        let source = try runGuest("paint", frames: 4, events: [2: [.pointer(x: 60, y: 70)]])
        let before = try XCTUnwrap(source.machine.cursor.read())
        let snapshot = try source.machine.snapshot()
        let system = try requireKVM()
        let restored = try Machine(system: system, config: try testConfig("paint", width: 320, height: 200, cpus: 1, frames: 6), restoring: snapshot)
        XCTAssertEqual(restored.cursor.read(), before, "the restored guest's plane, before it runs")
        restored.start()
        guard case .framesCompleted = try XCTUnwrap(restored.wait(seconds: 120)) else { return XCTFail("the restored guest did not finish") }
        XCTAssertEqual(restored.cursor.read(), before, "and after two more frames")
    }

    /// The page is the guest's to write: 200,000 random headers (sizes, hot spots, sequence
    /// counts, serials) never trap the VMM's reader, and what it returns is always in bounds.
    func testAHostileCursorPageNeverTrapsTheReader() throws {
        let run = try runGuest("paint", frames: 3, events: [2: [.pointer(x: 10, y: 10)]])
        let m = run.machine
        var rng = SystemRandomNumberGenerator()
        for i in 0..<200_000 {
            for word in 2..<12 { // seq ... shape_serial; the VMM's magic stays (else read() only says no)
                let v: UInt32 = i % 3 == 0 ? UInt32.random(in: 0...70, using: &rng) : rng.next()
                m.ram.pointer(at: 0x8000 + word * 4).storeBytes(of: v, as: UInt32.self)
            }
            if let c = m.cursor.read() {
                XCTAssertTrue((1...64).contains(c.width) && (1...64).contains(c.height) && c.hotX < c.width && c.hotY < c.height
                              && c.pixels.count == c.width * c.height, "\(c.width)x\(c.height) hot \(c.hotX),\(c.hotY)")
            }
        }
    }
}
