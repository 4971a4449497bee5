import Foundation
import KVM
import Machine
import TestSupport
import XCTest

/// The stable guest ABI: an image declares its version in an ELF note (none = 1), and the VMM
/// boots every version from 1 on exactly as that version's document described it.
final class ABIVersionTests: XCTestCase {
    /// assets/guests/compat: `pattern` as built for version 1 and for version 2 (no note in either).
    func compat(_ version: Int) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: guestAsset("compat/pattern-abi\(version).elf"))))
    }

    func image(_ bytes: [UInt8], _ name: String = "t") throws -> GuestImage {
        try GuestImage(bytes: bytes, path: name, name: name)
    }

    func refusal(_ bytes: [UInt8]) -> GuestImageError? {
        do { _ = try GuestImage(bytes: bytes, path: "t", name: "t"); return nil } catch { return error }
    }

    // MARK: - the note

    func testBuiltInGuestsDeclareVersion4AndTheOldImagesNone() throws {
        for name in GuestCatalog.names { XCTAssertEqual(try builtInGuest(name).declaredABIVersion, 4, name) }
        XCTAssertNil(try image(compat(1)).declaredABIVersion)
        XCTAssertNil(try image(compat(2)).declaredABIVersion)
        XCTAssertEqual(MachineConfig(image: try image(compat(1))).abiVersion, 1, "no note means version 1")
    }

    func testANoteDeclaresTheVersionAndOtherOwnersNotesAreSkipped() throws {
        XCTAssertEqual(try image(addingNote(to: compat(2), version: 2)).declaredABIVersion, 2)
        XCTAssertNil(try image(addingNote(to: compat(1), version: 2, owner: "GNU")).declaredABIVersion, "a GNU note is not Ringside's")
        XCTAssertNil(try image(addingNote(to: compat(1), version: 2, type: 3)).declaredABIVersion, "another type of Ringside note")
    }

    func testAVersionNewerThanThisVMMIsRefusedNamingBothNumbers() throws {
        let e = refusal(try addingNote(to: compat(1), version: 99))
        XCTAssertEqual(e, .newerABI(path: "t", version: 99, newest: 4))
        XCTAssertEqual(e?.description, "guest image t needs guest ABI version 99, but this ringside boots versions 1 to 4: "
                       + "use a newer ringside, or rebuild the image for version 4 or older")
    }

    func testMalformedNotesAreRefusedWithWhatIsWrong() throws {
        func what(_ bytes: [UInt8]) -> String {
            guard case .badNote(_, let w) = refusal(bytes) else { return "not refused as a bad note: \(String(describing: refusal(bytes)))" }
            return w
        }
        XCTAssertEqual(what(try addingNote(to: compat(1), version: 0)), "it declares guest ABI version 0; versions start at 1")
        XCTAssertEqual(what(try addingNote(to: compat(1), version: 3, desc: [3, 0, 0, 0, 0, 0, 0, 0])),
                       "note segment 2 has a Ringside ABI-version note with 8 bytes of desc; it must be 4 (a u32)")
        XCTAssertEqual(what(try addingNote(to: addingNote(to: compat(1), version: 2), version: 3)),
                       "its note segments declare two guest ABI versions, 2 and 3")
        var overrun = try addingNote(to: compat(1), version: 3)
        overrun[overrun.count - 28] = 200 // namesz: the name runs past the segment
        XCTAssertEqual(what(overrun), "note segment 2 has a note at byte 0 that runs past the segment's end")
        let stamped = try addingNote(to: compat(1), version: 3)
        guard case .truncated(_, let w) = refusal(Array(stamped.dropLast(4))) else { return XCTFail("a cut note segment is truncated") }
        XCTAssertTrue(w.hasPrefix("note segment 2"), w)
    }

    // MARK: - booting each version as its document said

    /// Runs `config` to its frame limit; the machine and the console lines.
    func boot(_ config: MachineConfig) throws -> (Machine, MachineOutcome, [String]) { try bootToTheEnd(config) }

    func config(_ image: GuestImage, frames: Int = 5) -> MachineConfig {
        var c = MachineConfig(image: image)
        c.width = 200; c.height = 120; c.ramBytes = 16 << 20; c.guestHz = 0; c.frameLimit = frames
        return c
    }

    /// vCPU 0's boot-info block (256 bytes).
    func bootInfo(_ m: Machine) -> [UInt8] { Array(UnsafeRawBufferPointer(start: m.ram.base + 0x4000, count: 256)) }

    func u32(_ b: [UInt8], _ o: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(b[o + $1]) << (8 * $1) } }
    func u64(_ b: [UInt8], _ o: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(b[o + $1]) << (8 * $1) } }

    func assertPatternFrame(_ m: Machine, _ n: Int, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        let fb = UnsafeRawPointer(m.framebuffer.base)
        for (x, y) in [(0, 0), (199, 0), (0, 119), (123, 45), (199, 119)] {
            XCTAssertEqual(pixel(fb, pitch: 800, x: x, y: y), patternPixel(x: x, y: y, frame: n), "\(what): pixel (\(x), \(y))", file: file, line: line)
        }
    }

    /// The image the issue was about: built from the first document, it checks version == 1.
    /// It boots and draws frame 5, and its block is exactly the version-1 table: 96 bytes.
    func testAVersion1ImageBootsAndSeesTheVersion1Document() throws {
        let img = try image(compat(1), "pattern-abi1")
        let (m, outcome, lines) = try boot(config(img))
        guard case .framesCompleted = outcome else { return XCTFail("\(outcome); console: \(lines)") }
        XCTAssertEqual(lines.first, "pattern: 200x120 cpu 0/1", "the version-1 runtime accepted its boot info")
        assertPatternFrame(m, 5, "version 1")
        let b = bootInfo(m)
        XCTAssertEqual(u32(b, 0), 0x4942_5352, "magic")
        XCTAssertEqual(u32(b, 4), 1, "version = 1")
        XCTAssertEqual(u64(b, 8), 0x10_0000_0000, "framebuffer GPA")
        XCTAssertEqual(u64(b, 16), 800 * 120, "framebuffer size")
        XCTAssertEqual([u32(b, 24), u32(b, 28), u32(b, 32), u32(b, 36), u32(b, 40), u32(b, 44)], [200, 120, 800, 1, 0, 1])
        XCTAssertEqual(u64(b, 48), 0x5000, "arguments")
        XCTAssertEqual(u64(b, 64), 0x3000, "counters")
        XCTAssertEqual(u64(b, 72), 16 << 20, "RAM size")
        let heap = (img.end + 0xFFF) & ~0xFFF
        XCTAssertEqual(u64(b, 80), heap, "heap: the first free byte after the image")
        XCTAssertEqual(u64(b, 88), (16 << 20) - heap, "heap size")
        XCTAssertEqual(Array(b[96...]), [UInt8](repeating: 0, count: 160), "nothing past the version-1 block's 96 bytes")
    }

    func testAVersion2ImageWithTheNoteSeesTheVersion2Document() throws {
        let (m, outcome, lines) = try boot(config(try image(addingNote(to: compat(2), version: 2), "pattern-abi2")))
        guard case .framesCompleted = outcome else { return XCTFail("\(outcome); console: \(lines)") }
        assertPatternFrame(m, 5, "version 2")
        let b = bootInfo(m)
        XCTAssertEqual(u32(b, 4), 2, "version = 2")
        XCTAssertEqual(u64(b, 96), 0x6000, "input queue GPA (added in version 2)")
        XCTAssertEqual(Array(b[104...]), [UInt8](repeating: 0, count: 152), "nothing past the version-2 block's 104 bytes")
    }

    /// A version-2 image from before the note cannot say so: it is booted as version 1 and its
    /// own check stops it, unless the run says which version it is (`--guest-abi 2`).
    func testANotelessVersion2ImageNeedsItsVersionSaid() throws {
        let img = try image(compat(2), "pattern-abi2")
        let (_, outcome, lines) = try boot(config(img))
        guard case .guestExit(1) = outcome else { return XCTFail("\(outcome)") }
        XCTAssertEqual(lines, ["pattern: bad boot info (magic/version/format/geometry)"])
        var c = config(img)
        c.undeclaredABIVersion = 2
        let (m, told, _) = try boot(c)
        guard case .framesCompleted = told else { return XCTFail("\(told)") }
        XCTAssertEqual(u32(bootInfo(m), 4), 2)
        assertPatternFrame(m, 5, "version 2 when told")
    }

    func testAVersion3ImageSeesTheModuleTable() throws {
        let (m, outcome, _) = try boot(config(try image(restampingNote(of: try builtInImageBytes("pattern"), to: 3), "pattern")))
        guard case .framesCompleted = outcome else { return XCTFail("\(outcome)") }
        assertPatternFrame(m, 5, "version 3")
        let b = bootInfo(m)
        XCTAssertEqual(u32(b, 4), 3)
        XCTAssertEqual(u64(b, 96), 0x6000)
        XCTAssertEqual(u64(b, 104), 0x7000, "modules_gpa")
        XCTAssertEqual(u32(b, 112), 0, "module_count")
        XCTAssertEqual(Array(b[116...]), [UInt8](repeating: 0, count: 140), "reserved1 and the rest of the stride are 0 (no cursor_gpa before version 4)")
    }

    func testModulesNeedAnImageOfVersion3() throws {
        var c = config(try image(compat(1), "old.elf"))
        c.modules = [BootModule(name: "m", path: "m", bytes: [1])]
        XCTAssertThrowsError(try c.validate(maxVCPUs: 1)) {
            XCTAssertEqual("\($0)", "guest image old.elf declares no guest ABI version (so it boots as version 1), which has no boot modules "
                           + "(they need version 3): rebuild it declaring version 3, or run it without --module")
        }
        c.undeclaredABIVersion = 5
        c.modules = []
        XCTAssertThrowsError(try c.validate(maxVCPUs: 1)) { XCTAssertTrue("\($0)".hasPrefix("--guest-abi 5 is out of range"), "\($0)") }
    }
}
