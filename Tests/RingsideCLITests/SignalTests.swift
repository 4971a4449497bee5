import Foundation
import TestSupport
import XCTest

/// SIGTERM and SIGHUP stop `ringside run` as Ctrl-C does: the summary is printed, the PNG
/// file is finished and the status is 0. A second signal exits at once with 128 + its number.
final class SignalTests: XCTestCase {
    /// A `ringside run` whose stdout the test reads as it comes (or leaves unread, to fill
    /// the pipe) and whose stderr goes to a file.
    final class Running {
        let process = Process()
        let stdout = Pipe()
        let errFile = FileManager.default.temporaryDirectory.appendingPathComponent("ringside-err-\(UUID().uuidString)")
        var text = ""

        init(_ args: [String], shell: String? = nil) throws {
            if let shell {
                process.executableURL = URL(fileURLWithPath: "/bin/sh")
                process.arguments = ["-c", shell + "; exec \"$0\" \"$@\"", ringsideExecutable().path] + args
            } else {
                process.executableURL = ringsideExecutable()
                process.arguments = args
            }
            FileManager.default.createFile(atPath: errFile.path, contents: nil)
            process.standardOutput = stdout
            process.standardError = try FileHandle(forWritingTo: errFile)
            try process.run()
        }

        deinit {
            if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
            try? FileManager.default.removeItem(at: errFile)
        }

        /// Reads stdout until it contains `needle` (or ends).
        func read(until needle: String, timeout: Double = 30) -> Bool {
            let deadline = Date(timeIntervalSinceNow: timeout)
            while !text.contains(needle) && Date() < deadline {
                let chunk = stdout.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                text += String(decoding: chunk, as: UTF8.self)
            }
            return text.contains(needle)
        }

        /// Waits up to `seconds` for the process to end; true if it did.
        func exits(within seconds: Double) -> Bool {
            let deadline = Date(timeIntervalSinceNow: seconds)
            while process.isRunning && Date() < deadline { usleep(5_000) }
            return !process.isRunning
        }

        func signal(_ s: Int32) { kill(process.processIdentifier, s) }

        var status: Int32 { process.waitUntilExit(); return process.terminationStatus }
        var err: String { (try? String(contentsOf: errFile, encoding: .utf8)) ?? "" }
        func rest() -> String { text + String(decoding: stdout.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self) }
    }

    func requireKVMDevice() throws {
        guard FileManager.default.fileExists(atPath: "/dev/kvm") else { throw XCTSkip("needs /dev/kvm") }
    }

    let banner = "ringside: pattern at "

    func assertCleanStop(by signal: Int32, name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let run = try Running(["run", "--guest", "pattern", "--headless", "--width", "160", "--height", "90"])
        XCTAssertTrue(run.read(until: banner), "started: \(run.text)", file: file, line: line)
        run.signal(signal)
        XCTAssertTrue(run.exits(within: 2), "\(name) stops the run within 2 s", file: file, line: line)
        XCTAssertEqual(run.status, 0, run.err, file: file, line: line)
        XCTAssertTrue(run.rest().contains("guest frames/s:"), "the summary is printed", file: file, line: line)
        XCTAssertEqual(run.err, "ringside: \(name) received: stopping the guest (a second signal exits at once)\n", file: file, line: line)
    }

    func testSIGTERMStopsTheGuestCleanly() throws {
        try requireKVMDevice()
        try assertCleanStop(by: SIGTERM, name: "SIGTERM")
    }

    func testSIGHUPStopsTheGuestCleanly() throws {
        try requireKVMDevice()
        try assertCleanStop(by: SIGHUP, name: "SIGHUP")
    }

    func testSIGTERMFinishesTheLastFramePNG() throws {
        try requireKVMDevice()
        try DecodedPNG.requireDecoder()
        let dir = NSTemporaryDirectory() + "ringside-signal-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let run = try Running(["run", "--guest", "pattern", "--headless", "--width", "160", "--height", "90", "--png", dir])
        XCTAssertTrue(run.read(until: "guest: pattern:"), "started: \(run.text)")
        usleep(300_000) // some frames drawn
        run.signal(SIGTERM)
        XCTAssertTrue(run.exits(within: 2))
        XCTAssertEqual(run.status, 0, run.err)
        let out = run.rest()
        XCTAssertTrue(out.contains("guest frames/s:"), out)
        let files = try FileManager.default.contentsOfDirectory(atPath: dir)
        XCTAssertEqual(files.count, 1, "one finished file, no temporary: \(files)")
        guard let name = files.first else { return }
        XCTAssertTrue(out.contains("wrote 1 PNG file to \(dir) (\(name))"), out)
        let png = try DecodedPNG(path: dir + "/" + name)
        XCTAssertEqual(png.width, 160)
        XCTAssertEqual(png.height, 90)
        XCTAssertTrue(png.rgb.contains { $0 != 0 }, "the guest's picture, not a blank screen")
    }

    /// The clean stop is held up (stdout is a full pipe nobody reads, so the summary cannot
    /// be written); a second signal, of another kind, still ends the process at once.
    func testASecondSignalExitsAtOnceWith128PlusItsNumber() throws {
        try requireKVMDevice()
        // A migration round line every millisecond fills the pipe quickly.
        let run = try Running(["run", "--guest", "pattern", "--headless", "--width", "64", "--height", "64", "--migration-rounds", "1"])
        XCTAssertTrue(run.read(until: banner))
        let fd = run.stdout.fileHandleForReading.fileDescriptor
        let capacity = fcntl(fd, 1032 /* F_GETPIPE_SZ */)
        // Full means the writer is blocked: nearly at capacity and no byte added for 300 ms,
        // although a round line is due every millisecond. (Merely "within 512 bytes of full"
        // let a slow writer fit the short summary in before the test looked.)
        var queued: Int32 = 0, last: Int32 = -1
        var stableSince = Date()
        let deadline = Date(timeIntervalSinceNow: 30)
        while Date() < deadline {
            _ = ioctl(fd, UInt(FIONREAD), &queued)
            if queued != last { last = queued; stableSince = Date() }
            if capacity > 0 && Int(queued) >= Int(capacity) - 512 && Date().timeIntervalSince(stableSince) > 0.3 { break }
            usleep(20_000)
        }
        XCTAssertGreaterThan(capacity, 0)
        XCTAssertGreaterThanOrEqual(Int(queued), Int(capacity) - 512, "stdout is full")
        run.signal(SIGTERM)
        XCTAssertFalse(run.exits(within: 0.5), "the clean stop waits to print its summary")
        run.signal(SIGHUP)
        XCTAssertTrue(run.exits(within: 2), "the second signal ends it at once")
        XCTAssertEqual(run.status, 128 + SIGHUP)
        XCTAssertEqual(run.err, "ringside: SIGTERM received: stopping the guest (a second signal exits at once)\n"
            + "ringside: SIGHUP again: exiting at once with status 129, without finishing\n")
    }

    /// `nohup` runs a program with SIGHUP ignored; it must stay ignored.
    func testASignalIgnoredAtStartStaysIgnored() throws {
        try requireKVMDevice()
        let run = try Running(["run", "--guest", "pattern", "--headless", "--width", "64", "--height", "64"], shell: "trap '' HUP")
        XCTAssertTrue(run.read(until: banner))
        run.signal(SIGHUP)
        XCTAssertFalse(run.exits(within: 0.5), "SIGHUP was ignored")
        run.signal(SIGINT)
        XCTAssertTrue(run.exits(within: 2))
        XCTAssertEqual(run.status, 0, run.err)
        XCTAssertEqual(run.err, "ringside: interrupted (SIGINT): stopping the guest (a second signal exits at once)\n")
    }
}
