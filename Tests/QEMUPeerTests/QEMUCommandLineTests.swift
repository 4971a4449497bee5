import QEMUPeer
import XCTest

/// QEMU's command line for a machine, without QEMU.
final class QEMUCommandLineTests: XCTestCase {
    let files = QEMUCommandLine.Files(qemu: "/usr/bin/qemu-system-x86_64", qboot: "/q/qboot.rom", stub: "/d/stub.bin", image: "/d/guest.elf", qmpSocket: "/d/qmp.sock")

    func value(after flag: String, in argv: [String]) -> String? {
        argv.firstIndex(of: flag).flatMap { $0 + 1 < argv.count ? argv[$0 + 1] : nil }
    }

    func testPacingBecomesAPITDivisorAndTheStubGetsEverythingOnItsCommandLine() {
        var m = QEMUMachine(imagePath: "/x/desktop.elf", imageName: "desktop")
        m.arguments = "windows=5 seed=2 -- odd"
        m.frames = 61
        m.width = 1920
        m.height = 1080
        m.ramBytes = 4 << 30
        XCTAssertEqual(m.pitDivisor, 19886, "1193182 / 60 rounded")
        XCTAssertEqual(m.effectiveGuestHz, 60.0011, accuracy: 0.0001)
        let argv = QEMUCommandLine.arguments(m, files: files)
        XCTAssertEqual(value(after: "-append", in: argv),
                       "ringside-stub pit=19886 frames=61 width=1920 height=1080 ram=4294967296 abi=2 -- windows=5 seed=2 -- odd")
        XCTAssertEqual(value(after: "-m", in: argv), "4096M")
        XCTAssertEqual(value(after: "-accel", in: argv), "kvm,dirty-ring-size=4096")
        XCTAssertEqual(value(after: "-kernel", in: argv), "/d/stub.bin")
        XCTAssertEqual(value(after: "-initrd", in: argv), "/d/guest.elf")
        XCTAssertEqual(value(after: "-bios", in: argv), "/q/qboot.rom")
        XCTAssertTrue(argv.contains("kvm-pit.lost_tick_policy=discard"))
        XCTAssertFalse(argv.contains("-vnc"))
    }

    func testFreeRunningHasNoTimerAndBitmapTrackingNoRing() {
        var m = QEMUMachine(imagePath: "/x/p.elf", imageName: "p")
        m.guestHz = 0
        m.tracking = .bitmap
        XCTAssertEqual(m.pitDivisor, 0)
        let argv = QEMUCommandLine.arguments(m, files: files)
        XCTAssertTrue(value(after: "-append", in: argv)!.hasPrefix("ringside-stub pit=0 frames=0 "))
        XCTAssertEqual(value(after: "-accel", in: argv), "kvm")
    }

    func testVNCPortsBecomeQEMUDisplaysAndLossyIsAnOption() {
        var m = QEMUMachine(imagePath: "/x/p.elf", imageName: "p")
        m.vnc = .init(host: "127.0.0.1", port: 5907, lossy: true)
        XCTAssertEqual(value(after: "-vnc", in: QEMUCommandLine.arguments(m, files: files)), "127.0.0.1:7,lossy=on")
        m.vnc = .init(host: "::1", port: 0)
        XCTAssertEqual(value(after: "-vnc", in: QEMUCommandLine.arguments(m, files: files)), "[::1]:0,to=59635")
        m.incoming = ("127.0.0.1", 7000)
        XCTAssertEqual(value(after: "-incoming", in: QEMUCommandLine.arguments(m, files: files)), "tcp:127.0.0.1:7000")
    }

    func testVideoMemoryHoldsTheModeAndIsAPowerOfTwo() {
        var m = QEMUMachine(imagePath: "/x/p.elf", imageName: "p")
        XCTAssertEqual(m.videoMemoryMiB, 16)
        m.width = 3840
        m.height = 2160
        XCTAssertEqual(m.videoMemoryMiB, 32)
        m.width = 7680
        m.height = 4320
        XCTAssertEqual(m.videoMemoryMiB, 128, "7680x4320x4 is 126.6 MiB")
    }

    func testWhatQEMUCannotHonourIsOneLine() {
        var m = QEMUMachine(imagePath: "/x/p.elf", imageName: "p")
        m.guestHz = 10
        XCTAssertThrowsError(try m.validate()) { XCTAssertTrue("\($0)".contains("PIT"), "\($0)") }
        m.guestHz = 60
        m.vnc = .init(port: 5800)
        XCTAssertThrowsError(try m.validate()) { XCTAssertTrue("\($0)".contains("5900"), "\($0)") }
        m.vnc = nil
        m.tracking = .ring(entries: 3000)
        XCTAssertThrowsError(try m.validate()) { XCTAssertTrue("\($0)".contains("power of two"), "\($0)") }
    }
}
