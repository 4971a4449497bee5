import Foundation
import TestSupport
import XCTest

/// `ringside qemu`: the same guest image under QEMU behind the boot stub draws, at frame N,
/// exactly the picture `ringside run` draws at frame N. QEMU's screen is read through QMP
/// `screendump` (what its VNC server serves), both PNGs decoded by PIL, compared pixel by pixel.
final class QEMUPeerTests: XCTestCase {
    static func requireQEMU() throws {
        guard FileManager.default.fileExists(atPath: "/dev/kvm") else { throw XCTSkip("needs /dev/kvm") }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        guard path.split(separator: ":").contains(where: { FileManager.default.isExecutableFile(atPath: "\($0)/qemu-system-x86_64") }) else {
            throw XCTSkip("qemu-system-x86_64 is not installed (Debian: apt-get install qemu-system-x86)")
        }
        try DecodedPNG.requireDecoder()
    }

    func tempDir() throws -> String {
        let d = NSTemporaryDirectory() + "ringside-qemu-test-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: d) }
        return d
    }

    /// Frame `frame` of `guest` under both VMMs; fails naming the first pixel that differs.
    func assertSameFrame(_ guest: String, args: String = "", width: Int, height: Int, frame: Int, guestHz: String = "0",
                         file: StaticString = #filePath, line: UInt = #line) throws {
        let ours = try tempDir(), theirs = try tempDir()
        let common = ["--guest", guest, "--args", args, "--width", "\(width)", "--height", "\(height)", "--guest-hz", guestHz, "--frames", "\(frame)"]
        let r = try runRingside(["run", "--headless", "--png", ours] + common, timeout: 120)
        XCTAssertEqual(r.status, 0, "ringside run: " + r.err, file: file, line: line)
        let q = try runRingside(["qemu", "--png", theirs] + common, timeout: 120)
        XCTAssertEqual(q.status, 0, "ringside qemu: " + q.err, file: file, line: line)
        XCTAssertTrue(q.out.contains("guest stopped at frame \(frame)"), q.out, file: file, line: line)
        let name = String(format: "frame-%06d.png", frame)
        let a = try DecodedPNG(path: ours + "/" + name), b = try DecodedPNG(path: theirs + "/" + name)
        XCTAssertEqual(a.width, width, file: file, line: line)
        XCTAssertEqual(b.width, width, "QEMU's screen is the mode the stub set", file: file, line: line)
        XCTAssertEqual(b.height, height, file: file, line: line)
        guard a.width == b.width, a.height == b.height else { return }
        var differing = 0
        var first: String?
        for y in 0..<a.height {
            for x in 0..<a.width where a.pixel(x: x, y: y) != b.pixel(x: x, y: y) {
                differing += 1
                if first == nil { first = String(format: "(%d, %d): ringside %06x, qemu %06x", x, y, a.pixel(x: x, y: y), b.pixel(x: x, y: y)) }
            }
        }
        XCTAssertEqual(differing, 0, "\(guest) frame \(frame): \(differing) pixels differ, first at \(first ?? "-")", file: file, line: line)
    }

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
final class LineCollector: @unchecked Sendable {
    private let lock = NSCondition()
    private var data = Data()

    init(_ handle: FileHandle) {
        handle.readabilityHandler = { [weak self] h in
            let chunk = h.availableData
            guard let self else { return }
            self.lock.withLock { self.data.append(chunk); self.lock.broadcast() }
            if chunk.isEmpty { h.readabilityHandler = nil }
        }
    }

    var text: String { lock.withLock { String(decoding: data, as: UTF8.self) } }

    func wait(for needle: String, seconds: Double) -> Bool {
        let deadline = Date(timeIntervalSinceNow: seconds)
        lock.lock()
        defer { lock.unlock() }
        while !String(decoding: data, as: UTF8.self).contains(needle) {
            if !lock.wait(until: deadline) { return false }
        }
        return true
    }
}
