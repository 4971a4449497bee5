import Foundation
import Machine
import Synchronization
import TestSupport
import XCTest

/// `ringside qemu`: the same guest image under QEMU behind the boot stub draws, at frame N,
/// exactly the picture `ringside run` draws at frame N. QEMU's screen is read through QMP
/// `screendump` (what its VNC server serves), both PNGs decoded by PIL, compared pixel by pixel.
final class QEMUPeerTests: XCTestCase {
    static func requireQEMU() throws {
        try requireKVMDevice()
        _ = try requireTool("qemu-system-x86_64", install: "apt-get install qemu-system-x86")
        try DecodedPNG.requireDecoder()
    }

    func tempDir() throws -> String {
        let d = NSTemporaryDirectory() + "ringside-qemu-test-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: d) }
        return d
    }

    /// Frame `frame` of `guest` under both VMMs; fails naming the first pixel that differs.
    /// `extra` goes to both (--module, --guest-abi). Returns what each printed.
    @discardableResult
    func assertSameFrame(_ guest: String, args: String = "", width: Int, height: Int, frame: Int, guestHz: String = "0", extra: [String] = [],
                         file: StaticString = #filePath, line: UInt = #line) throws -> (run: String, qemu: String) {
        let ours = try tempDir(), theirs = try tempDir()
        let common = ["--guest", guest, "--args", args, "--width", "\(width)", "--height", "\(height)", "--guest-hz", guestHz, "--frames", "\(frame)"] + extra
        let r = try runRingside(["run", "--headless", "--png", ours] + common, timeout: 180)
        XCTAssertEqual(r.status, 0, "ringside run: " + r.err, file: file, line: line)
        let q = try runRingside(["qemu", "--png", theirs] + common, timeout: 180)
        XCTAssertEqual(q.status, 0, "ringside qemu: " + q.err, file: file, line: line)
        XCTAssertTrue(q.out.contains("guest stopped at frame \(frame)"), q.out, file: file, line: line)
        let name = String(format: "frame-%06d.png", frame)
        let a = try DecodedPNG(path: ours + "/" + name), b = try DecodedPNG(path: theirs + "/" + name)
        XCTAssertEqual(a.width, width, file: file, line: line)
        XCTAssertEqual(b.width, width, "QEMU's screen is the mode the stub set", file: file, line: line)
        XCTAssertEqual(b.height, height, file: file, line: line)
        guard a.width == b.width, a.height == b.height else { return (r.out, q.out) }
        var differing = 0
        var first: String?
        for y in 0..<a.height {
            for x in 0..<a.width where a.pixel(x: x, y: y) != b.pixel(x: x, y: y) {
                differing += 1
                if first == nil { first = String(format: "(%d, %d): ringside %06x, qemu %06x", x, y, a.pixel(x: x, y: y), b.pixel(x: x, y: y)) }
            }
        }
        XCTAssertEqual(differing, 0, "\(guest) frame \(frame): \(differing) pixels differ, first at \(first ?? "-")", file: file, line: line)
        return (r.out, q.out)
    }

    /// The guest's own console lines ("guest: ..."), in order.
    func guestLines(_ out: String) -> [String] { out.split(separator: "\n").map(String.init).filter { $0.hasPrefix("guest: ") } }

    func testPatternFrameNIsIdenticalUnderBothVMMs() throws {
        try Self.requireQEMU()
        try assertSameFrame("pattern", width: 320, height: 200, frame: 37)
    }

    func testPacedPatternStopsAtTheSameFrame() throws {
        try Self.requireQEMU()
        try assertSameFrame("pattern", width: 256, height: 160, frame: 20, guestHz: "60")
    }

    func testDesktopFrameNIsIdenticalUnderBothVMMs() throws {
        try Self.requireQEMU()
        // Frame 61 has redrawn the clock once (60 frames a "second") and moved the cursor 60 times.
        try assertSameFrame("desktop", width: 1280, height: 800, frame: 61)
    }

    func testBounceFrameNIsIdenticalUnderBothVMMs() throws {
        try Self.requireQEMU()
        try assertSameFrame("bounce", args: "sprites=16", width: 640, height: 400, frame: 45)
    }

    func testPlasmaFrameNIsIdenticalUnderBothVMMs() throws {
        try Self.requireQEMU()
        try assertSameFrame("plasma", width: 640, height: 400, frame: 23)
    }

    /// Every built-in guest but those tested above and those `ringside qemu` cannot run
    /// (README there: `modes` sets modes at run time; `fault` draws no frame N), with
    /// arguments that make frame N show what it does.
    func testEveryOtherBuiltInGuestDrawsFrameNAsUnderRingsideRun() throws {
        try Self.requireQEMU()
        let testedAbove: Set = ["pattern", "desktop", "bounce", "plasma"], cannot: Set = ["modes", "fault"]
        let module = try tempDir() + "/bytes.bin"
        try Data((0..<50_000).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ $0 >> 8) }).write(to: URL(fileURLWithPath: module))
        let cases: [String: (args: String, frame: Int, extra: [String])] = [
            "terminal": ("lines=3", 40, []), "paint": ("", 5, []), "alternate": ("period=10", 25, []),
            "idle": ("blink=20", 27, []), "pagewriter": ("pages=200", 20, []), "modules": ("check=8", 17, ["--module", module + "=bytes"]),
        ]
        for name in GuestCatalog.names where !testedAbove.contains(name) && !cannot.contains(name) {
            let c = try XCTUnwrap(cases[name], "\(name) is a new built-in guest: give it a case here")
            let (run, qemu) = try assertSameFrame(name, args: c.args, width: 320, height: 200, frame: c.frame, extra: c.extra)
            XCTAssertEqual(guestLines(run), guestLines(qemu), "\(name) prints the same under both VMMs")
        }
    }

    func testModulesAreWhereRingsidePutsThemAndTheGuestSeesTheSameBytes() throws {
        try Self.requireQEMU()
        let dir = try tempDir()
        try Data((0..<10_000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) }).write(to: URL(fileURLWithPath: dir + "/a"))
        try Data("hello".utf8).write(to: URL(fileURLWithPath: dir + "/b"))
        let (run, qemu) = try assertSameFrame("modules", args: "check=5", width: 320, height: 200, frame: 11,
                                              extra: ["--module", dir + "/a", "--module", dir + "/b=second, name"])
        let lines = guestLines(qemu)
        XCTAssertEqual(guestLines(run), lines)
        // modules: NAME SIZE bytes at 0xGPA fnv1a 0xHASH
        XCTAssertTrue(lines.contains { $0.hasPrefix("guest: modules: a 10000 bytes at 0x") }, qemu)
        XCTAssertTrue(lines.contains { $0.hasPrefix("guest: modules: second, name 5 bytes at 0x") }, qemu)
        XCTAssertTrue(lines.contains { $0.hasPrefix("guest: modules: frame 10 second, name fnv1a 0x") }, qemu)
    }

    func testAVersion1ImageAndAVersion2ImageNamedByGuestABIDrawTheirFrameN() throws {
        try Self.requireQEMU()
        try assertSameFrame(guestAsset("compat/pattern-abi1.elf"), width: 256, height: 160, frame: 9)
        try assertSameFrame(guestAsset("compat/pattern-abi2.elf"), width: 256, height: 160, frame: 9, extra: ["--guest-abi", "2"])
        let unsaid = try runRingside(["qemu", "--guest", guestAsset("compat/pattern-abi2.elf"), "--width", "128", "--height", "96"], timeout: 120)
        XCTAssertEqual(unsaid.status, 3, "booted as version 1, the old runtime's own check exits with status 1: \(unsaid.out)\(unsaid.err)")
        XCTAssertTrue(unsaid.out.contains("guest: pattern: bad boot info"), unsaid.out)
        XCTAssertTrue(unsaid.out.contains("ringside: note: pattern-abi2 declares no guest ABI version, so it was booted as version 1; "
                                          + "an image built for a later version without the note runs with --guest-abi VERSION"), unsaid.out)
    }

    func testANewerABIOrAModuleForAnOldImageIsOneLineBeforeQEMUStarts() throws {
        // No QEMU needed: nothing starts.
        let image = NSTemporaryDirectory() + "abi-\(UUID().uuidString).elf"
        try Data(addingNote(to: Array(Data(contentsOf: URL(fileURLWithPath: guestAsset("compat/pattern-abi1.elf")))), version: 99))
            .write(to: URL(fileURLWithPath: image))
        addTeardownBlock { unlink(image) }
        let newer = try runRingside(["qemu", "--guest", image, "--frames", "1"])
        XCTAssertEqual(newer.status, 1)
        XCTAssertEqual(newer.err, "ringside: guest image \(image) needs guest ABI version 99, but this ringside boots versions 1 to 4: "
                       + "use a newer ringside, or rebuild the image for version 4 or older\n")
        XCTAssertEqual(newer.out, "", "refused before QEMU started")
        let old = try runRingside(["qemu", "--guest", guestAsset("compat/pattern-abi1.elf"), "--module", image, "--frames", "1"])
        XCTAssertEqual(old.status, 1)
        XCTAssertEqual(old.err.split(separator: "\n").count, 1, old.err)
        XCTAssertTrue(old.err.contains("which has no boot modules (they need version 3)"), old.err)
        XCTAssertEqual(old.out, "")
        let conflict = try runRingside(["qemu", "--guest", "pattern", "--guest-abi", "2", "--frames", "1"])
        XCTAssertEqual(conflict.status, 1)
        XCTAssertTrue(conflict.err.hasSuffix("declares version 4: drop --guest-abi\n"), conflict.err)
    }

    /// DOOM's demo (clock=frames: one game tic per guest frame), its WAD passed as a module by
    /// name as `ringside run --guest doom` does.
    func testDoomsDemoFrameNIsIdenticalUnderBothVMMs() throws {
        try Self.requireQEMU()
        let doom = try XCTUnwrap(BuiltGuest.named("doom"))
        guard doom.isBuilt else { throw unmetRequirement("DOOM is not built in \(doom.directory): run `\(doom.buildCommand)` (CI does, in .ci/run)") }
        // Frame 450: the first demo plays (it starts about frame 220).
        let (run, qemu) = try assertSameFrame("doom", args: "clock=frames", width: 640, height: 400, frame: 450)
        XCTAssertEqual(guestLines(run), guestLines(qemu), "the engine says the same under both VMMs")
    }

    /// The stub starts a second vCPU itself (INIT-SIPI-SIPI to a real-mode trampoline): each
    /// vCPU draws its band and stops at its own frame N, free-running and paced, as under
    /// `ringside run --cpus 2`.
    func testTwoVCPUsDrawFrameNAsUnderRingsideRunWithTwo() throws {
        try Self.requireQEMU()
        let info = try runRingside(["info"]).out
        guard info.range(of: #"vCPUs:\s+([2-9]|\d\d+) recommended"#, options: .regularExpression) != nil else {
            throw XCTSkip("this host's KVM recommends one vCPU; two are needed")
        }
        let (_, qemu) = try assertSameFrame("pattern", width: 256, height: 160, frame: 15, extra: ["--cpus", "2"])
        XCTAssertTrue(qemu.contains("guest: pattern: 256x160 cpu 0/2") && qemu.contains("guest: pattern: 256x160 cpu 1/2"), qemu)
        try assertSameFrame("bounce", args: "sprites=16", width: 320, height: 200, frame: 30, extra: ["--cpus", "2"])
        try assertSameFrame("desktop", width: 640, height: 400, frame: 61, guestHz: "60", extra: ["--cpus", "2"])
    }

    func testWithoutQEMUOnThePathItSaysWhichPackageToInstall() throws {
        guard FileManager.default.fileExists(atPath: "/dev/kvm") else { throw XCTSkip("needs /dev/kvm") }
        var env = ProcessInfo.processInfo.environment
        env["PATH"] = "/nonexistent"
        let r = try runRingside(["qemu", "--guest", "pattern", "--frames", "1"], environment: env)
        XCTAssertEqual(r.status, 1)
        let lines = r.err.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, r.err)
        XCTAssertTrue(r.err.contains("qemu-system-x86_64") && r.err.contains("qemu-system-x86"), r.err)
    }

    func testTheGuestsExitStatusComesBackAsUnderRingsideRun() throws {
        try Self.requireQEMU()
        let r = try runRingside(["qemu", "--guest", "fault", "--args", "kind=exit status=5", "--width", "128", "--height", "96"], timeout: 120)
        XCTAssertEqual(r.status, (5 << 1) | 1, r.err)
        XCTAssertTrue(r.out.contains("guest: fault: exit status 5"), r.out)
        XCTAssertTrue(r.out.contains("guest exited with status 5"), r.out)
    }

    func testAGuestCrashIsReportedWithItsRIP() throws {
        try Self.requireQEMU()
        let r = try runRingside(["qemu", "--guest", "fault", "--args", "kind=ud2", "--width", "128", "--height", "96"], timeout: 120)
        XCTAssertEqual(r.status, 2, r.out + r.err)
        XCTAssertTrue(r.err.contains("#UD (invalid opcode) at RIP 0x"), r.err)
    }

    func testSIGTERMStopsQEMUCleanly() throws {
        try Self.requireQEMU()
        let p = Process()
        p.executableURL = ringsideExecutable()
        p.arguments = ["qemu", "--guest", "desktop", "--width", "320", "--height", "200"]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = Pipe()
        try p.run()
        let reader = LineCollector(out.fileHandleForReading)
        XCTAssertTrue(reader.wait(for: "ringside qemu: desktop", seconds: 60), "QEMU started: \(reader.text)")
        let qemuPID = try XCTUnwrap(reader.text.range(of: #"pid (\d+)"#, options: .regularExpression)
            .flatMap { Int32(reader.text[$0].dropFirst(4)) })
        kill(p.processIdentifier, SIGTERM)
        let deadline = Date(timeIntervalSinceNow: 30)
        while p.isRunning && Date() < deadline { usleep(10_000) }
        XCTAssertFalse(p.isRunning, "ringside qemu ended after SIGTERM")
        if p.isRunning { p.terminate() }
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
        XCTAssertTrue(reader.wait(for: "stopped after", seconds: 5), reader.text)
        XCTAssertEqual(kill(qemuPID, 0), -1, "QEMU (pid \(qemuPID)) is gone too")
    }
}

/// Collects a pipe's text as it arrives, so a test can wait for a line with a deadline.
final class LineCollector: Sendable {
    /// Wakes `wait` when text arrives; `data` changes under it.
    private let arrived = NSCondition()
    private let data = Mutex(Data())

    init(_ handle: FileHandle) {
        handle.readabilityHandler = { [weak self] h in
            let chunk = h.availableData
            guard let self else { return }
            self.arrived.withLock { self.data.withLock { $0.append(chunk) }; self.arrived.broadcast() }
            if chunk.isEmpty { h.readabilityHandler = nil }
        }
    }

    var text: String { data.withLock { String(decoding: $0, as: UTF8.self) } }

    func wait(for needle: String, seconds: Double) -> Bool {
        let deadline = Date(timeIntervalSinceNow: seconds)
        arrived.lock()
        defer { arrived.unlock() }
        while !text.contains(needle) {
            if !arrived.wait(until: deadline) { return false }
        }
        return true
    }
}
