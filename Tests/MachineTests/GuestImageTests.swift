import Foundation
import Machine
import XCTest

/// ELF validation without KVM: every way an image can be bad gets its own error.
final class GuestImageTests: XCTestCase {
    /// A minimal valid ELF64 x86-64 executable: one PT_LOAD R+X segment at `address`.
    /// The segment's file bytes are 1, 2, 3, ... from offset 120.
    func makeELF(address: UInt64 = 0x20_0000, virtualAddress: UInt64? = nil, entry: UInt64? = nil, fileSize: UInt64 = 16,
                 memSize: UInt64 = 4096, machine: UInt16 = 62, elfClass: UInt8 = 2, dataEncoding: UInt8 = 1, type: UInt16 = 2) -> [UInt8] {
        var b = [UInt8](repeating: 0, count: 64 + 56 + Int(fileSize))
        func put<T: FixedWidthInteger>(_ v: T, _ o: Int) { withUnsafeBytes(of: v.littleEndian) { for (i, x) in $0.enumerated() { b[o + i] = x } } }
        b[0] = 0x7F; b[1] = 0x45; b[2] = 0x4C; b[3] = 0x46; b[4] = elfClass; b[5] = dataEncoding; b[6] = 1
        put(type, 16); put(machine, 18); put(UInt32(1), 20)
        put(entry ?? address, 24); put(UInt64(64), 32); put(UInt16(64), 52); put(UInt16(56), 54); put(UInt16(1), 56)
        put(UInt32(1), 64); put(UInt32(5), 68); put(UInt64(120), 72); put(virtualAddress ?? address, 80); put(address, 88)
        put(fileSize, 96); put(memSize, 104); put(UInt64(4096), 112)
        for i in 0..<Int(fileSize) { b[120 + i] = UInt8(truncatingIfNeeded: i + 1) }
        return b
    }

    func unsupportedReason(_ bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line) -> String {
        do {
            _ = try GuestImage(bytes: bytes, path: "t", name: "t")
            XCTFail("accepted", file: file, line: line)
        } catch {
            guard case .unsupported(_, let what) = error else { XCTFail("\(error)", file: file, line: line); return "" }
            return what
        }
        return ""
    }

    /// A scratch file holding `bytes`, removed after the test.
    func scratchFile(_ bytes: [UInt8]) throws -> String {
        let path = NSTemporaryDirectory() + "guest-image-\(UUID().uuidString).elf"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        addTeardownBlock { unlink(path) }
        return path
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

    func testOnlyClassByte1IsCalled32BitAndOtherClassBytesAreInvalid() {
        XCTAssertEqual(unsupportedReason(makeELF(elfClass: 1)), "it is 32-bit (ELFCLASS32)")
        for c: UInt8 in [0, 3, 255] {
            XCTAssertEqual(unsupportedReason(makeELF(elfClass: c)), "ELF class byte \(c) is invalid; need 2 (64-bit)")
        }
    }

    func testOnlyDataByte2IsCalledBigEndianAndOtherDataBytesAreInvalid() {
        XCTAssertEqual(unsupportedReason(makeELF(dataEncoding: 2)), "it is big-endian (ELFDATA2MSB)")
        for d: UInt8 in [0, 3] {
            XCTAssertEqual(unsupportedReason(makeELF(dataEncoding: d)), "ELF data-encoding byte \(d) is invalid; need 1 (little-endian)")
        }
    }

    func testALoadSegmentWhoseVirtualAddressIsNotItsPhysicalAddressIsRefused() {
        XCTAssertThrowsError(try GuestImage(bytes: makeELF(address: 0x20_0000, virtualAddress: 0x40_0000), path: "t", name: "t")) {
            guard case .badSegment(_, let what) = $0 as? GuestImageError else { return XCTFail("\($0)") }
            XCTAssertTrue(what.contains("p_vaddr 0x400000 but p_paddr 0x200000") && what.contains("identity-mapped"), what)
        }
    }

    func testSegmentsWhoseFileBytesAddUpToMoreThanTheFileAreRefused() {
        // Two PT_LOAD segments of 200 file bytes each, at 0x200000 and 0x300000.
        func twoSegments(secondOffset: UInt64) -> [UInt8] {
            var b = [UInt8](repeating: 0, count: Int(max(176 + 200, secondOffset + 200)))
            func put<T: FixedWidthInteger>(_ v: T, _ o: Int) { withUnsafeBytes(of: v.littleEndian) { for (i, x) in $0.enumerated() { b[o + i] = x } } }
            b[0] = 0x7F; b[1] = 0x45; b[2] = 0x4C; b[3] = 0x46; b[4] = 2; b[5] = 1; b[6] = 1
            put(UInt16(2), 16); put(UInt16(62), 18); put(UInt64(0x20_0000), 24); put(UInt64(64), 32); put(UInt16(56), 54); put(UInt16(2), 56)
            for (n, (offset, address)) in [(UInt64(176), UInt64(0x20_0000)), (secondOffset, UInt64(0x30_0000))].enumerated() {
                let h = 64 + 56 * n
                put(UInt32(1), h); put(UInt32(5), h + 4); put(offset, h + 8); put(address, h + 16); put(address, h + 24)
                put(UInt64(200), h + 32); put(UInt64(4096), h + 40)
            }
            return b
        }
        XCTAssertNoThrow(try GuestImage(bytes: twoSegments(secondOffset: 376), path: "t", name: "t"))
        XCTAssertThrowsError(try GuestImage(bytes: twoSegments(secondOffset: 176), path: "t", name: "t")) {
            XCTAssertEqual($0 as? GuestImageError, .badSegment(path: "t", what: "segments 0...1 hold 400 bytes of the file, more than its 376 bytes: segments overlap in the file"))
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

    func testAFileIsReadSegmentBySegment() throws {
        let path = try scratchFile(makeELF(fileSize: 40, memSize: 8192) + [UInt8](repeating: 0xAB, count: 1000))
        let image = try GuestImage(path: path)
        XCTAssertEqual(image.segments.count, 1)
        XCTAssertEqual(image.segments[0].bytes, (1...40).map { UInt8($0) }, "exactly the segment's file bytes, not the trailing data")
        XCTAssertEqual(image.end, 0x20_2000)
    }

    func testAFileWithATrailingSlashIsNotADirectory() throws {
        let path = try scratchFile(makeELF())
        XCTAssertNoThrow(try GuestImage(path: path))
        XCTAssertThrowsError(try GuestImage(path: path + "/")) {
            guard case .unreadable(_, let reason) = $0 as? GuestImageError else { return XCTFail("\($0)") }
            XCTAssertTrue(reason.contains("not a directory (ENOTDIR)"), reason)
        }
    }

    func testADirectoryAndAFIFOAreRefusedWithoutWaiting() throws {
        XCTAssertThrowsError(try GuestImage(path: NSTemporaryDirectory())) {
            XCTAssertEqual($0 as? GuestImageError, .unreadable(path: NSTemporaryDirectory(), reason: "it is a directory"))
        }
        let fifo = NSTemporaryDirectory() + "guest-fifo-\(UUID().uuidString)"
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        defer { unlink(fifo) }
        XCTAssertThrowsError(try GuestImage(path: fifo)) {
            XCTAssertEqual($0 as? GuestImageError, .unreadable(path: fifo, reason: "it is not a regular file"))
        }
    }

    func testAFileLargerThanTheLimitIsRefusedBeforeItIsRead() throws {
        // A valid image at the front of a sparse 2 GiB file: refused by its size alone.
        let path = try scratchFile(makeELF())
        XCTAssertEqual(truncate(path, 2 << 30), 0)
        let start = Date()
        XCTAssertThrowsError(try GuestImage(path: path)) {
            XCTAssertEqual($0 as? GuestImageError, .fileTooLarge(path: path, size: 2 << 30, limit: 1 << 30))
            XCTAssertTrue("\($0)".contains("more than the limit of 1073741824 bytes"), "\($0)")
        }
        XCTAssertThrowsError(try GuestImage(path: path, maxFileBytes: GuestImage.fileSizeLimit(ramBytes: 64 << 20))) {
            XCTAssertEqual($0 as? GuestImageError, .fileTooLarge(path: path, size: 2 << 30, limit: 64 << 20))
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 1, "nothing was read")
        XCTAssertEqual(GuestImage.fileSizeLimit(ramBytes: 32 << 30), 1 << 30)
        XCTAssertEqual(truncate(path, 64 << 20), 0)
        XCTAssertNoThrow(try GuestImage(path: path, maxFileBytes: 64 << 20), "a file of exactly the limit loads")
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
