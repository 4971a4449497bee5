import Machine
import QEMUPeer
import XCTest

/// QEMU's command line for a machine, without QEMU.
final class QEMUCommandLineTests: XCTestCase {
    let files = QEMUCommandLine.Files(qemu: "/usr/bin/qemu-system-x86_64", qboot: "/q/qboot.rom", stub: "/d/stub.bin", image: "/d/guest.elf", qmpSocket: "/d/qmp.sock")

    func value(after flag: String, in argv: [String]) -> String? {
        argv.firstIndex(of: flag).flatMap { $0 + 1 < argv.count ? argv[$0 + 1] : nil }
    }

    func testPacingBecomesAPITDivisorAndTheStubGetsEverythingOnItsCommandLine() {
        var m = QEMUMachine(imagePath: "/x/desktop.elf", imageName: "desktop", abiVersion: 3)
        m.arguments = "windows=5 seed=2 -- odd"
        m.frames = 61
        m.width = 1920
        m.height = 1080
        m.ramBytes = 4 << 30
        XCTAssertEqual(m.pitDivisor, 19886, "1193182 / 60 rounded")
        XCTAssertEqual(m.effectiveGuestHz, 60.0011, accuracy: 0.0001)
        let argv = QEMUCommandLine.arguments(m, files: files)
        XCTAssertEqual(value(after: "-append", in: argv),
                       "ringside-stub pit=19886 frames=61 width=1920 height=1080 ram=4294967296 abi=3 cpus=1 -- windows=5 seed=2 -- odd")
        XCTAssertEqual(value(after: "-smp", in: argv), "1")
        XCTAssertEqual(value(after: "-m", in: argv), "4096M")
        XCTAssertEqual(value(after: "-accel", in: argv), "kvm,dirty-ring-size=4096")
        XCTAssertEqual(value(after: "-kernel", in: argv), "/d/stub.bin")
        XCTAssertEqual(value(after: "-initrd", in: argv), "/d/guest.elf")
        XCTAssertEqual(value(after: "-bios", in: argv), "/q/qboot.rom")
        XCTAssertTrue(argv.contains("kvm-pit.lost_tick_policy=discard"))
        XCTAssertFalse(argv.contains("-vnc"))
    }

    func testTheImageBootsAsItsDeclaredVersionWithItsModulesAfterItOnTheInitrdLine() throws {
        var m = QEMUMachine(imagePath: "/x/doom.elf", imageName: "doom", abiVersion: 3)
        m.modules = [.init(path: "/data/freedoom1.wad", name: "freedoom1.wad"), .init(path: "/data/b", name: "a, b c")]
        let f = QEMUCommandLine.Files(qemu: "/q", qboot: "/b", stub: "/d/stub.bin", image: "/d/guest.elf",
                                      modules: ["/d/module-1", "/d/module-2"], qmpSocket: "/d/qmp.sock")
        let argv = QEMUCommandLine.arguments(m, files: f)
        // QEMU reads ",," as a comma; the stub takes everything after a module's first space as its name.
        XCTAssertEqual(value(after: "-initrd", in: argv), "/d/guest.elf,/d/module-1 freedoom1.wad,/d/module-2 a,, b c")
        XCTAssertTrue(value(after: "-append", in: argv)!.contains(" abi=3 cpus=1 -- "))
        XCTAssertNoThrow(try m.validate())

        var old = QEMUMachine(imagePath: "/x/pattern-abi1.elf", imageName: "pattern-abi1")
        XCTAssertEqual(old.abiVersion, 1, "an image without the note boots as version 1")
        XCTAssertTrue(value(after: "-append", in: QEMUCommandLine.arguments(old, files: files))!.contains(" abi=1 cpus=1 -- "))
        old.modules = [.init(path: "/data/x", name: "x")]
        XCTAssertThrowsError(try old.validate()) { XCTAssertTrue("\($0)".contains("version 3"), "\($0)") }
        old.modules = [.init(path: "/data/x", name: String(repeating: "n", count: 48))]
        old.abiVersion = 3
        XCTAssertThrowsError(try old.validate()) { XCTAssertTrue("\($0)".contains("1...47 bytes"), "\($0)") }
        old.modules = []
        old.abiVersion = 5
        XCTAssertThrowsError(try old.validate()) { XCTAssertTrue("\($0)".contains("1 to 4"), "\($0)") }
    }

    func testAMachineConfigBecomesTheSameGuestUnderQEMU() throws {
        var config = MachineConfig(image: try GuestImage(bytes: Self.minimalImage(note: 2), path: "/x/g.elf", name: "g"))
        config.arguments = "a=1"
        config.width = 640
        config.height = 480
        config.guestHz = 0
        config.frameLimit = 9
        config.ramBytes = 64 << 20
        config.cpus = 2
        config.modules = [BootModule(name: "m", path: "/data/m", bytes: [1, 2, 3])]
        let m = QEMUMachine(config: config)
        XCTAssertEqual(m.cpus, 2)
        let argv = QEMUCommandLine.arguments(m, files: files)
        XCTAssertEqual(value(after: "-smp", in: argv), "2", "QEMU makes both vCPUs; the stub starts the second")
        XCTAssertTrue(value(after: "-append", in: argv)!.contains(" cpus=2 -- "))
        XCTAssertEqual(m.imagePath, "/x/g.elf")
        XCTAssertEqual(m.abiVersion, 2, "the version the image's note declares")
        XCTAssertEqual(m.modules, [.init(path: "/data/m", name: "m")])
        XCTAssertEqual([m.width, m.height, m.frames], [640, 480, 9])
        XCTAssertEqual(m.arguments, "a=1")
        XCTAssertEqual(m.guestHz, 0)
        XCTAssertEqual(m.ramBytes, 64 << 20)
        config.image = try GuestImage(bytes: Self.minimalImage(note: nil), path: "/x/h.elf", name: "h")
        config.undeclaredABIVersion = 2
        XCTAssertEqual(QEMUMachine(config: config).abiVersion, 2, "--guest-abi for an image without the note")
        config.undeclaredABIVersion = 1
        XCTAssertEqual(QEMUMachine(config: config).abiVersion, 1)
    }

    /// A static ELF64 image with one executable PT_LOAD at 0x200000 and, unless nil, the
    /// Ringside ABI-version note in a PT_NOTE segment.
    static func minimalImage(note: UInt32?) -> [UInt8] {
        var b = [UInt8](repeating: 0, count: 0x200)
        func put<T: FixedWidthInteger>(_ v: T, _ o: Int) { withUnsafeBytes(of: v.littleEndian) { for (i, x) in $0.enumerated() { b[o + i] = x } } }
        b[0...3] = [0x7F, 0x45, 0x4C, 0x46]; b[4] = 2; b[5] = 1; b[6] = 1
        put(UInt16(2), 16); put(UInt16(62), 18); put(UInt32(1), 20); put(UInt64(0x200000), 24); put(UInt64(64), 32)
        put(UInt16(64), 52); put(UInt16(56), 54); put(UInt16(note == nil ? 1 : 2), 56)
        put(UInt32(1), 64); put(UInt32(5), 68); put(UInt64(0x100), 72); put(UInt64(0x200000), 80); put(UInt64(0x200000), 88)
        put(UInt64(0x10), 96); put(UInt64(0x10), 104)
        if let note {
            let h = 64 + 56
            put(UInt32(4), h); put(UInt32(4), h + 4); put(UInt64(0x180), h + 8); put(UInt64(28), h + 32); put(UInt64(28), h + 40); put(UInt64(4), h + 48)
            put(UInt32(9), 0x180); put(UInt32(4), 0x184); put(UInt32(1), 0x188)
            for (i, c) in "Ringside".utf8.enumerated() { b[0x18C + i] = c }
            put(note, 0x198)
        }
        return b
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
        m.cpus = 3
        XCTAssertThrowsError(try m.validate()) { XCTAssertTrue("\($0)".contains("1 or 2"), "\($0)") }
        m.cpus = 2
        m.tracking = .ring(entries: 3000)
        XCTAssertThrowsError(try m.validate()) { XCTAssertTrue("\($0)".contains("power of two"), "\($0)") }
    }
}
