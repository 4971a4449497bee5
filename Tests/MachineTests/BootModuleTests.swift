import Foundation
import Machine
import TestSupport
import XCTest

/// Boot modules (`--module PATH[=NAME]`): how a spec is read, where modules go, what is
/// refused, and, on real KVM, that the guest finds their bytes through its module table.
final class BootModuleTests: XCTestCase {
    /// A scratch file holding `bytes`, removed after the test.
    func scratchFile(_ bytes: [UInt8], name: String = "module-\(UUID().uuidString).bin") throws -> String {
        let dir = NSTemporaryDirectory() + "boot-modules-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Bytes that differ from page to page and within a page (a seeded LCG).
    func sampleBytes(_ count: Int, seed: UInt32) -> [UInt8] {
        var s = seed
        return (0..<count).map { _ in s = s &* 1_664_525 &+ 1_013_904_223; return UInt8(truncatingIfNeeded: s >> 24) }
    }

    func fnv1a(_ bytes: [UInt8]) -> UInt64 {
        bytes.reduce(0xCBF2_9CE4_8422_2325) { ($0 ^ UInt64($1)) &* 0x100_0000_01B3 }
    }

    func testTheNameIsTheFilesBaseNameOrWhatFollowsTheLastEquals() throws {
        let path = try scratchFile([1, 2, 3], name: "freedoom1.wad")
        let plain = try BootModule(spec: path, maxBytes: 1 << 20)
        XCTAssertEqual(plain.name, "freedoom1.wad")
        XCTAssertEqual(plain.bytes, [1, 2, 3])
        XCTAssertEqual(try BootModule(spec: path + "=doom1.wad", maxBytes: 1 << 20).name, "doom1.wad")
        let withEquals = try scratchFile([9], name: "a=b.bin")
        XCTAssertEqual(try BootModule(spec: withEquals + "=ab", maxBytes: 1 << 20).path, withEquals,
                       "a path holding '=' takes an explicit name after the last '='")
    }

    func testBadSpecsAndFilesAreRefusedWithTheirReason() throws {
        let path = try scratchFile([UInt8](repeating: 7, count: 5000))
        func refusal(_ spec: String, maxBytes: UInt64 = 1 << 20) -> BootModuleError? {
            do { _ = try BootModule(spec: spec, maxBytes: maxBytes); return nil } catch { return error }
        }
        XCTAssertEqual(refusal(path + "="), .badName(spec: path + "=", reason: "the name after '=' is empty"))
        XCTAssertEqual(refusal("=name"), .badName(spec: "=name", reason: "the path is empty"))
        let long = String(repeating: "n", count: 48)
        XCTAssertEqual(refusal(path + "=" + long), .nameTooLong(name: long, bytes: 48))
        XCTAssertNil(refusal(path + "=" + String(repeating: "n", count: 47)), "47 bytes and the NUL fill the 48-byte field")
        XCTAssertEqual(refusal(path, maxBytes: 4096), .fileTooLarge(path: path, size: 5000, ram: 4096))
        guard case .unreadable(_, let why) = refusal("/nonexistent/module.bin") else { return XCTFail("a missing file is unreadable") }
        XCTAssertEqual(why, "no such file")
        guard case .unreadable(_, let dirWhy) = refusal(NSTemporaryDirectory()) else { return XCTFail("a directory is unreadable") }
        XCTAssertEqual(dirWhy, "it is a directory")
    }

    func testModulesFollowTheImageOnePageAlignedAfterAnotherAndTheHeapFollowsThem() {
        let (addresses, heap) = BootModule.placement(of: [10, 4096, 0, 5000], after: 0x20_1234)
        XCTAssertEqual(addresses, [0x20_2000, 0x20_3000, 0x20_4000, 0x20_4000])
        XCTAssertEqual(heap, 0x20_6000)
        XCTAssertEqual(BootModule.placement(of: [], after: 0x20_1001).heap, 0x20_2000, "no module: the heap starts after the image")
    }

    func testTooManyDuplicateAndOversizedModulesAreRefusedBeforeBoot() throws {
        var config = try testConfig("modules", ramMiB: 16)
        config.modules = (0...64).map { BootModule(name: "m\($0)", path: "p", bytes: [1]) }
        XCTAssertThrowsError(try config.validate(maxVCPUs: 1)) { XCTAssertEqual("\($0)", "65 boot modules given; the limit is 64") }
        config.modules = [BootModule(name: "a", path: "p", bytes: [1]), BootModule(name: "a", path: "q", bytes: [2])]
        XCTAssertThrowsError(try config.validate(maxVCPUs: 1)) { XCTAssertTrue("\($0)".contains("two boot modules are named 'a'"), "\($0)") }
        let end = BootModule.placement(of: [], after: config.image.end).heap
        let room = Int(config.ramBytes - end)
        config.modules = [BootModule(name: "fits", path: "p", bytes: [UInt8](repeating: 0, count: room))]
        XCTAssertNoThrow(try config.validate(maxVCPUs: 1), "a module may fill RAM to its last byte")
        config.modules = [BootModule(name: "big", path: "p", bytes: [UInt8](repeating: 0, count: room + 1))]
        XCTAssertThrowsError(try config.validate(maxVCPUs: 1)) {
            XCTAssertTrue("\($0)".hasPrefix("boot module 'big' (\(room + 1) bytes) does not fit") && "\($0)".contains("raise --memory"), "\($0)")
        }
    }

    /// The documented picture: boot info version 3 points at the table, the table lists every
    /// module where its bytes are, the heap starts after the last, and the guest reads them.
    func testTheGuestFindsEveryModulesBytesThroughItsTable() throws {
        let first = sampleBytes(10_000, seed: 1), second = Array("hello, guest\n".utf8)
        var config = try testConfig("modules", args: "check=2", width: 160, height: 100, ramMiB: 16, frames: 4)
        config.modules = [BootModule(name: "first.bin", path: "a", bytes: first), BootModule(name: "greeting", path: "b", bytes: second)]
        let (m, outcome, console) = try bootToTheEnd(config)
        guard case .framesCompleted = outcome else { return XCTFail("did not finish: \(outcome)") }

        let ram = UnsafeRawPointer(m.ram.base)
        let info = ram + 0x4000
        XCTAssertEqual(info.load(fromByteOffset: 4, as: UInt32.self), 4, "version 4 (the module table came in 3)")
        XCTAssertEqual(info.load(fromByteOffset: 104, as: UInt64.self), 0x7000, "modules_gpa")
        XCTAssertEqual(info.load(fromByteOffset: 112, as: UInt32.self), 2, "module_count")
        let placed = BootModule.placement(of: [UInt64(first.count), UInt64(second.count)], after: config.image.end)
        XCTAssertEqual(info.load(fromByteOffset: 80, as: UInt64.self), placed.heap, "heap_gpa after the last module")
        XCTAssertEqual(info.load(fromByteOffset: 88, as: UInt64.self), config.ramBytes - placed.heap, "heap_size to the end of RAM")
        for (i, (bytes, name)) in [(first, "first.bin"), (second, "greeting")].enumerated() {
            let entry = ram + 0x7000 + 64 * i
            let gpa = entry.load(as: UInt64.self)
            XCTAssertEqual(gpa, placed.addresses[i])
            XCTAssertEqual(entry.load(fromByteOffset: 8, as: UInt64.self), UInt64(bytes.count))
            XCTAssertEqual(String(cString: (entry + 16).assumingMemoryBound(to: CChar.self)), name)
            XCTAssertEqual(Array(UnsafeRawBufferPointer(start: ram + Int(gpa), count: bytes.count)), bytes, "\(name)'s bytes in RAM")
            let hash = "0x" + String(fnv1a(bytes), radix: 16)
            XCTAssertTrue(console.contains("modules: \(name) \(bytes.count) bytes at 0x\(String(gpa, radix: 16)) fnv1a \(hash)"), "\(console)")
            XCTAssertTrue(console.contains("modules: frame 4 \(name) fnv1a \(hash)"), "\(console)")
        }
        XCTAssertEqual((ram + 0x7000 + 128).load(as: UInt64.self), 0, "entries past module_count stay zero")

        // Frame 4: pixel (x, y) is the first module's bytes from k = 3 * ((y + 3) * W + x), wrapping.
        let fb = UnsafeRawPointer(m.framebuffer.base)
        for (x, y) in [(0, 0), (159, 0), (17, 42), (159, 99)] {
            let k = 3 * ((y + 3) * 160 + x)
            let want = UInt32(first[k % first.count]) << 16 | UInt32(first[(k + 1) % first.count]) << 8 | UInt32(first[(k + 2) % first.count])
            XCTAssertEqual(pixel(fb, pitch: 640, x: x, y: y) & 0xFF_FFFF, want, "pixel (\(x), \(y))")
        }
    }

    /// A snapshot is RAM: a machine restored from it (with no module files in its config) still
    /// finds its module where the table says and hashes it right.
    func testARestoredSnapshotStillHoldsTheModules() throws {
        let bytes = sampleBytes(300_000, seed: 7)
        var first = try testConfig("modules", args: "check=3", width: 64, height: 64, ramMiB: 16, frames: 3)
        first.modules = [BootModule(name: "data", path: "p", bytes: bytes)]
        let system = try requireKVM()
        let a = try Machine(system: system, config: first)
        a.start()
        guard case .framesCompleted? = a.wait(seconds: 30) else { a.stop(); a.wait(); return XCTFail("first run did not finish") }
        var later = try testConfig("modules", args: "check=3", width: 64, height: 64, ramMiB: 16, frames: 6)
        later.modules = []
        let lines = LineLog()
        var events = MachineEvents()
        events.consoleLine = { _, line in lines.append(line) }
        let b = try Machine(system: system, config: later, events: events, restoring: try a.snapshot())
        b.start()
        guard case .framesCompleted? = b.wait(seconds: 30) else { b.stop(); b.wait(); return XCTFail("restored run did not finish") }
        XCTAssertEqual(lines.all, ["modules: frame 6 data fnv1a 0x" + String(fnv1a(bytes), radix: 16)])
    }

    func testWithoutModulesTheGuestSaysNoneAndTheTableIsEmpty() throws {
        let run = try runGuest("modules", width: 64, height: 64, frames: 2)
        XCTAssertTrue(run.console.contains("modules: none"), "\(run.console)")
        let info = UnsafeRawPointer(run.machine.ram.base) + 0x4000
        XCTAssertEqual(info.load(fromByteOffset: 112, as: UInt32.self), 0)
        XCTAssertTrue(run.pixels.allSatisfy { $0 == 0 }, "black without a module")
    }
}
