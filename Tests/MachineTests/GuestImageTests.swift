import Machine
import XCTest

/// ELF validation without KVM: every way an image can be bad gets its own error.
final class GuestImageTests: XCTestCase {
    /// A minimal valid ELF64 x86-64 executable: one PT_LOAD R+X segment at `address`.
    func makeELF(address: UInt64 = 0x20_0000, entry: UInt64? = nil, fileSize: UInt64 = 16, memSize: UInt64 = 4096,
                 machine: UInt16 = 62, elfClass: UInt8 = 2, type: UInt16 = 2) -> [UInt8] {
        var b = [UInt8](repeating: 0, count: 64 + 56 + Int(fileSize))
        func put<T: FixedWidthInteger>(_ v: T, _ o: Int) { withUnsafeBytes(of: v.littleEndian) { for (i, x) in $0.enumerated() { b[o + i] = x } } }
        b[0] = 0x7F; b[1] = 0x45; b[2] = 0x4C; b[3] = 0x46; b[4] = elfClass; b[5] = 1; b[6] = 1
        put(type, 16); put(machine, 18); put(UInt32(1), 20)
        put(entry ?? address, 24); put(UInt64(64), 32); put(UInt16(64), 52); put(UInt16(56), 54); put(UInt16(1), 56)
        put(UInt32(1), 64); put(UInt32(5), 68); put(UInt64(120), 72); put(address, 80); put(address, 88)
        put(fileSize, 96); put(memSize, 104); put(UInt64(4096), 112)
        return b
    }

    func testAValidImageParses() throws {
        let image = try GuestImage(bytes: makeELF(), path: "t", name: "t")
        XCTAssertEqual(image.entry, 0x20_0000)
        XCTAssertEqual(image.segments.count, 1)
        XCTAssertEqual(image.end, 0x20_1000)
    }

    func testTextIsNotAnImage() {
        XCTAssertThrowsError(try GuestImage(bytes: Array("hello world".utf8), path: "t", name: "t")) {
            XCTAssertEqual($0 as? GuestImageError, .notELF(path: "t"))
        }
    }

    func testTruncatedHeaderAndSegmentsAreReported() {
        let full = makeELF()
        XCTAssertThrowsError(try GuestImage(bytes: Array(full.prefix(40)), path: "t", name: "t")) {
            guard case .truncated = $0 as? GuestImageError else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try GuestImage(bytes: Array(full.prefix(full.count - 4)), path: "t", name: "t")) {
            guard case .truncated(_, let what) = $0 as? GuestImageError else { return XCTFail("\($0)") }
            XCTAssertTrue(what.contains("segment 0"))
        }
    }

    func testWrongClassAndMachineAreUnsupported() {
        for bytes in [makeELF(machine: 3), makeELF(elfClass: 1), makeELF(type: 3)] {
            XCTAssertThrowsError(try GuestImage(bytes: bytes, path: "t", name: "t")) {
                guard case .unsupported = $0 as? GuestImageError else { return XCTFail("\($0)") }
            }
        }
    }

    func testSegmentsMayNotOverlapTheVMMArea() {
        XCTAssertThrowsError(try GuestImage(bytes: makeELF(address: 0x1000), path: "t", name: "t")) {
            guard case .badSegment(_, let what) = $0 as? GuestImageError else { return XCTFail("\($0)") }
            XCTAssertTrue(what.contains("VMM"))
        }
    }

    func testEntryMustBeInsideAnExecutableSegment() {
        XCTAssertThrowsError(try GuestImage(bytes: makeELF(entry: 0x90_0000), path: "t", name: "t")) {
            XCTAssertEqual($0 as? GuestImageError, .badEntry(path: "t", entry: 0x90_0000))
        }
    }

    func testAnImageLargerThanGuestRAMIsRejected() throws {
        let image = try GuestImage(bytes: makeELF(memSize: 64 << 20), path: "t", name: "t")
        XCTAssertThrowsError(try image.validate(ramBytes: 16 << 20)) {
            guard case .tooLarge = $0 as? GuestImageError else { return XCTFail("\($0)") }
        }
        XCTAssertNoThrow(try image.validate(ramBytes: 128 << 20))
    }

    func testAMissingFileIsUnreadable() {
        XCTAssertThrowsError(try GuestImage(path: "/nonexistent/guest.elf")) {
            guard case .unreadable(_, let reason) = $0 as? GuestImageError else { return XCTFail("\($0)") }
            XCTAssertEqual(reason, "no such file")
        }
    }

    func testMemorySizesParseWithSuffixes() {
        XCTAssertEqual(parseMemorySize("256M"), 256 << 20)
        XCTAssertEqual(parseMemorySize("4G"), 4 << 30)
        XCTAssertEqual(parseMemorySize("16g"), 16 << 30)
        XCTAssertNil(parseMemorySize("lots"))
        XCTAssertNil(parseMemorySize("0M"))
        XCTAssertNil(parseMemorySize("-5M"))
    }
}
