import Foundation
import Machine
import QEMUPeer
import TestSupport
import XCTest

/// The boot stub under a real QEMU, read back from QEMU's memory: the boot-info block each
/// guest ABI version gets, and boot modules where assets/guests/README.md puts them (the same
/// placement Ringside computes), with nothing left behind of the files QEMU loaded.
final class StubBootTests: XCTestCase {
    /// Skips without QEMU or /dev/kvm (fails in CI, which installs both).
    static func requireQEMU() throws -> QEMUInstallation {
        try requireKVMDevice()
        do { return try QEMUInstallation.find() } catch { throw unmetRequirement("\(error)") }
    }

    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    /// Boots `machine` until the stub holds it at its frame limit; `body` reads its RAM.
    func boot(_ machine: QEMUMachine, _ body: (GuestRAMView) throws -> Void) throws {
        let installation = try Self.requireQEMU()
        let qemu = try QEMUInstance(machine, installation: installation)
        defer { qemu.quit() }
        try qemu.waitForGuest()
        let deadline = Date(timeIntervalSinceNow: 120)
        let outcome = qemu.run(until: { Date() > deadline })
        XCTAssertEqual(outcome, .stoppedAtFrame(machine.frames ?? 0))
        guard case .stoppedAtFrame = outcome else { return }
        try body(try XCTUnwrap(qemu.guestRAM, "the guest's RAM in QEMU"))
    }

    func u32(_ b: [UInt8], _ o: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(b[o + $1]) << (8 * $1) } }
    func u64(_ b: [UInt8], _ o: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(b[o + $1]) << (8 * $1) } }

    func testEachGuestABIVersionGetsExactlyItsBootInfoFields() throws {
        let cases: [(path: String, version: UInt32, bytes: Int)] = [
            ("assets/guests/compat/pattern-abi1.elf", 1, 96), ("assets/guests/compat/pattern-abi2.elf", 2, 104), ("assets/guests/bin/pattern.elf", 4, 128),
        ]
        for c in cases {
            var m = QEMUMachine(imagePath: Self.repository + "/" + c.path, imageName: "pattern", abiVersion: c.version)
            m.width = 320
            m.height = 200
            m.guestHz = 0
            m.frames = 3
            try boot(m) { ram in
                let block = try XCTUnwrap(ram.bytes(at: 0x4000, count: 256))
                XCTAssertEqual(u32(block, 0), 0x4942_5352, "magic")
                XCTAssertEqual(u32(block, 4), c.version, "the version the image boots as")
                XCTAssertEqual([u32(block, 24), u32(block, 28), u32(block, 32)], [320, 200, 1280])
                XCTAssertTrue(block[c.bytes...].allSatisfy { $0 == 0 }, "version \(c.version) has \(c.bytes) bytes; the rest of the block is 0")
                if c.version >= 2 { XCTAssertEqual(u64(block, 96), 0x6000, "input_queue_gpa") }
                if c.version >= 3 { XCTAssertEqual([u64(block, 104), u64(block, 112)], [0x7000, 0], "modules_gpa, module_count") }
                XCTAssertEqual(ram.read(UInt32.self, at: 0x6000), 0x5149_5352, "the input queue is there for every version, as under Ringside")
            }
        }
    }

    /// The `modules` guest with two modules, its image file as built and with `padding` bytes
    /// of 0xA5 after its end (ignored by both loaders): 6 MiB puts the image file across the
    /// image's own addresses and the modules' files past their places.
    func assertModulesPlacedAsRingsideDoes(padding: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        let dir = NSTemporaryDirectory() + "ringside-stub-test-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var imageBytes = try Array(Data(contentsOf: URL(fileURLWithPath: Self.repository + "/assets/guests/bin/modules.elf")))
        imageBytes += [UInt8](repeating: 0xA5, count: padding)
        var generator = SystemRandomNumberGenerator()
        let contents: [[UInt8]] = [(0..<10_000).map { _ in UInt8.random(in: 1...255, using: &generator) }, Array("hello".utf8)]
        try Data(imageBytes).write(to: URL(fileURLWithPath: dir + "/modules.elf"))
        for (i, c) in contents.enumerated() { try Data(c).write(to: URL(fileURLWithPath: dir + "/m\(i)")) }
        let image = try GuestImage(path: dir + "/modules.elf")
        let placement = BootModule.placement(of: contents.map { UInt64($0.count) }, after: image.end)

        var m = QEMUMachine(imagePath: dir + "/modules.elf", imageName: "modules", abiVersion: try XCTUnwrap(image.declaredABIVersion))
        m.modules = [.init(path: dir + "/m0", name: "first"), .init(path: dir + "/m1", name: "a, b")]
        m.width = 320
        m.height = 200
        m.guestHz = 0
        m.frames = 2
        try boot(m) { ram in
            let block = try XCTUnwrap(ram.bytes(at: 0x4000, count: 120))
            XCTAssertEqual(u32(block, 112), 2, "module_count", file: file, line: line)
            XCTAssertEqual(u64(block, 80), placement.heap, "heap_gpa: after the last module, as Ringside places it", file: file, line: line)
            let table = try XCTUnwrap(ram.bytes(at: 0x7000, count: 4096))
            for (i, c) in contents.enumerated() {
                let entry = Array(table[i * 64..<(i + 1) * 64])
                XCTAssertEqual(u64(entry, 0), placement.addresses[i], "module \(i)'s address", file: file, line: line)
                XCTAssertEqual(u64(entry, 8), UInt64(c.count), "module \(i)'s size", file: file, line: line)
                XCTAssertEqual(String(decoding: entry[16...].prefix { $0 != 0 }, as: UTF8.self), ["first", "a, b"][i], file: file, line: line)
                let tail = Int((UInt64(c.count) + 0xFFF) & ~0xFFF) - c.count
                let inRAM = try XCTUnwrap(ram.bytes(at: placement.addresses[i], count: c.count + tail))
                XCTAssertEqual(Array(inRAM.prefix(c.count)), c, "module \(i)'s bytes", file: file, line: line)
                XCTAssertTrue(inRAM.suffix(tail).allSatisfy { $0 == 0 }, "module \(i)'s last page is 0 after it", file: file, line: line)
            }
            XCTAssertTrue(table[128...].allSatisfy { $0 == 0 }, "entries past the count are 0", file: file, line: line)
            // The heap is zero where QEMU's files and the stub's copy of the image file lay.
            let heap = try XCTUnwrap(ram.bytes(at: placement.heap, count: imageBytes.count + (4 << 20)))
            XCTAssertNil(heap.firstIndex { $0 != 0 }.map { "heap byte \($0) is not 0" }, file: file, line: line)
            // Below the image: vCPU 1's stack slot (unused, past the stub) held the files too.
            let low = try XCTUnwrap(ram.bytes(at: 0x1E0000, count: 0x10000))
            XCTAssertTrue(low.allSatisfy { $0 == 0 }, "vCPU 1's stack slot is 0", file: file, line: line)
        }
    }

    func testModulesGoAfterTheImageWhereRingsidePutsThemAndTheHeapIsZero() throws {
        try assertModulesPlacedAsRingsideDoes(padding: 0)
    }

    func testAnImageFileLargerThanTheOldLimitAndReachingPastItsModulesStillLoads() throws {
        try assertModulesPlacedAsRingsideDoes(padding: 6 << 20)
    }
}

