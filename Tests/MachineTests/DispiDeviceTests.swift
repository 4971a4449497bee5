import Machine
import XCTest

/// The DISPI registers as a function over data: the port accesses a guest makes, and the
/// mode (or refusal) that comes out. No VM needed.
final class DispiDeviceTests: XCTestCase {
    func device(max: (Int, Int) = (7680, 4320)) -> DispiDevice {
        let slot = (max.0 * 4 * max.1 + (2 << 20) - 1) / (2 << 20) * (2 << 20)
        return DispiDevice(mode: DisplayMode(width: 1280, height: 800), maxWidth: max.0, maxHeight: max.1, slotBytes: slot)
    }

    @discardableResult
    func set(_ d: inout DispiDevice, _ index: UInt32, _ value: UInt32) -> DispiDevice.Effect {
        d.writeIndex(index)
        return d.writeData(value)
    }

    func read(_ d: inout DispiDevice, _ index: UInt32) -> UInt32 {
        d.writeIndex(index)
        return d.readData
    }

    /// The Linux bochs driver's sequence: disable, registers, enable.
    func setMode(_ d: inout DispiDevice, _ w: UInt32, _ h: UInt32, bpp: UInt32 = 32) -> DispiDevice.Effect {
        set(&d, 4, 0)
        set(&d, 3, bpp); set(&d, 1, w); set(&d, 2, h); set(&d, 5, 0)
        set(&d, 6, w); set(&d, 8, 0); set(&d, 9, 0)
        return set(&d, 4, 0x41)
    }

    func testBootModeReadsBackAndIdIsB0C5() {
        var d = device()
        XCTAssertEqual(read(&d, 0), 0xB0C5)
        XCTAssertEqual(read(&d, 1), 1280)
        XCTAssertEqual(read(&d, 2), 800)
        XCTAssertEqual(read(&d, 3), 32)
        XCTAssertEqual(read(&d, 4), 0x41, "booted enabled with the linear framebuffer")
        XCTAssertEqual(read(&d, 6), 1280)
        XCTAssertEqual(read(&d, 0xA), UInt32(d.slotBytes >> 16))
    }

    func testEnableSetsTheLatchedModeOnlyThen() {
        var d = device()
        XCTAssertEqual(set(&d, 1, 1920), .none, "XRES alone latches")
        XCTAssertEqual(set(&d, 2, 1080), .none)
        XCTAssertEqual(d.mode, DisplayMode(width: 1280, height: 800))
        XCTAssertEqual(set(&d, 4, 0x41), .modeSet(DisplayMode(width: 1920, height: 1080)))
        XCTAssertEqual(d.mode, DisplayMode(width: 1920, height: 1080))
        XCTAssertEqual(set(&d, 4, 0x41), .none, "the same mode again changes nothing")
        XCTAssertEqual(setMode(&d, 800, 600), .modeSet(DisplayMode(width: 800, height: 600)))
        XCTAssertEqual(read(&d, 6), 800, "writing XRES resets VIRT_WIDTH")
    }

    func testVirtWidthGivesThePitch() {
        var d = device()
        set(&d, 1, 1000); set(&d, 6, 1024)
        XCTAssertEqual(set(&d, 4, 1), .modeSet(DisplayMode(width: 1000, height: 800, pitch: 4096)))
        XCTAssertEqual(read(&d, 7), UInt32(d.slotBytes / 4096), "VIRT_HEIGHT: rows that fit the slot")
    }

    func testRefusedModesKeepTheOldOneAndReadItBack() {
        let bad: [(UInt32, UInt32, UInt32)] = [(0, 0, 32), (99999, 1, 32), (1024, 768, 8), (7681, 4320, 32), (7680, 4321, 32),
                                               (63, 64, 32), (64, 63, 32), (1024, 768, 24), (UInt32.max, UInt32.max, 32)]
        for (w, h, bpp) in bad {
            var d = device()
            guard case .refused(let why) = setMode(&d, w, h, bpp: bpp) else { return XCTFail("\(w)x\(h)@\(bpp) was not refused") }
            XCTAssertTrue(why.contains("\(w)x\(h)"), why)
            XCTAssertEqual(d.mode, DisplayMode(width: 1280, height: 800))
            XCTAssertEqual([read(&d, 1), read(&d, 2), read(&d, 3), read(&d, 6)], [1280, 800, 32, 1280], "\(w)x\(h)@\(bpp) reads back the old mode")
        }
        var d = device()
        XCTAssertEqual(setMode(&d, 7680, 4320), .modeSet(DisplayMode(width: 7680, height: 4320)), "the largest mode is accepted")
        XCTAssertEqual(setMode(&d, 64, 64), .modeSet(DisplayMode(width: 64, height: 64)), "and the smallest")
    }

    func testPanningAndOverWideRowsAreRefused() {
        var d = device()
        set(&d, 1, 1920); set(&d, 2, 1080); set(&d, 9, 10)
        guard case .refused = set(&d, 4, 1) else { return XCTFail("Y_OFFSET 10 accepted") }
        XCTAssertEqual(read(&d, 9), 0)
        set(&d, 1, 1920); set(&d, 6, 7681)
        guard case .refused = set(&d, 4, 1) else { return XCTFail("VIRT_WIDTH 7681 accepted") }
    }

    func testAModeLargerThanTheMaxFramebufferIsRefusedAndGetCapsReadsTheMax() {
        var d = device(max: (1920, 1080))
        guard case .refused(let why) = setMode(&d, 2560, 1440) else { return XCTFail("2560x1440 accepted") }
        XCTAssertTrue(why.contains("1920x1080"), why)
        set(&d, 4, 2)
        XCTAssertEqual([read(&d, 1), read(&d, 2), read(&d, 3)], [1920, 1080, 32])
        XCTAssertEqual(d.mode, DisplayMode(width: 1280, height: 800), "GETCAPS alone sets nothing")
    }

    /// Random register traffic never traps and always leaves a valid mode in force.
    func testRandomTrafficLeavesAValidMode() {
        var rng = SystemRandomNumberGenerator()
        var d = device(max: (2048, 2048))
        for _ in 0..<200_000 {
            d.writeIndex(UInt32.random(in: 0...12, using: &rng))
            if Bool.random(using: &rng) { _ = d.readData; continue }
            let v: UInt32 = Bool.random(using: &rng) ? UInt32.random(in: 0...3000, using: &rng) : UInt32.random(in: 0...UInt32.max, using: &rng)
            _ = d.writeData(Int.random(in: 0..<8, using: &rng) == 0 ? 0x41 : v)
            let m = d.mode
            XCTAssertTrue((64...2048).contains(m.width) && (64...2048).contains(m.height) && m.pitch >= m.width * 4 && m.byteCount <= d.slotBytes, "\(m)")
        }
    }
}
