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
            if process.isRunning { kill(process.processIdentifier, SIGKILL); _ = poll(timeout: 30) { !process.isRunning } }
            try? FileManager.default.removeItem(at: errFile)
        }

        /// Reads what stdout has within `timeout` seconds (poll: never blocks past it); false
        /// at the end of the stream.
        @discardableResult
        private func readSome(timeout: Double) -> Bool {
            var p = pollfd(fd: stdout.fileHandleForReading.fileDescriptor, events: Int16(POLLIN), revents: 0)
            guard Glibc.poll(&p, 1, Int32(timeout * 1000)) > 0 else { return true }
            var buf = [UInt8](repeating: 0, count: 65536)
            let n = buf.withUnsafeMutableBytes { Glibc.read(p.fd, $0.baseAddress, $0.count) }
            if n > 0 { text += String(decoding: buf[0..<n], as: UTF8.self) }
            return n > 0 || (n < 0 && errno == EINTR)
        }

        /// Reads stdout until it contains `needle` (or ends, or `timeout` seconds pass).
        func read(until needle: String, timeout: Double = 120) -> Bool {
            let deadline = Date(timeIntervalSinceNow: timeout)
            while !text.contains(needle) && Date() < deadline {
                if !readSome(timeout: min(0.1, max(0, deadline.timeIntervalSinceNow))) { break }
            }
            return text.contains(needle)
        }

        /// Waits up to `seconds` for the process to end; true if it did.
        func exits(within seconds: Double) -> Bool {
            poll(timeout: seconds, every: 0.005) { !process.isRunning }
        }

        func signal(_ s: Int32) { kill(process.processIdentifier, s) }

        var status: Int32 { waitForExit(process, timeout: 120, "ringside") ?? -1 }
        var err: String { (try? String(contentsOf: errFile, encoding: .utf8)) ?? "" }
        /// Everything stdout said, to its end (the process has exited, or is made to).
        func rest() -> String {
            let deadline = Date(timeIntervalSinceNow: 120)
            while Date() < deadline && readSome(timeout: 0.1) {}
            return text
        }
    }


    let banner = "ringside: pattern at "

    func assertCleanStop(by signal: Int32, name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let run = try Running(["run", "--guest", "pattern", "--headless", "--width", "160", "--height", "90"])
        XCTAssertTrue(run.read(until: banner), "started: \(run.text)", file: file, line: line)
        run.signal(signal)
        XCTAssertTrue(run.exits(within: 120), "\(name) stops the run", file: file, line: line)
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
        // An input event for frame 3 goes to the guest when vCPU 0 has completed frame 2, and
        // --log-input prints it then: the guest has drawn by the time the line is out.
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try "3 key down KEY_A\n".write(toFile: dir + ".keys", atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: dir + ".keys") }
        let run = try Running(["run", "--guest", "pattern", "--headless", "--width", "160", "--height", "90", "--png", dir,
                               "--input-script", dir + ".keys", "--log-input"])
        XCTAssertTrue(run.read(until: "input: frame 3: "), "frame 2 drawn: \(run.text)")
        run.signal(SIGTERM)
        XCTAssertTrue(run.exits(within: 120))
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
        // Full means the writer is blocked: a thread of ringside sleeps in the kernel's pipe
        // write (its wait channel says so), however slowly the host runs it.
        func blockedOnThePipe() -> Bool {
            let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(run.process.processIdentifier)/task")) ?? []
            return tasks.contains { tid in
                procText("/proc/\(run.process.processIdentifier)/task/\(tid)/wchan").contains("pipe_write")
            }
        }
        XCTAssertTrue(poll(timeout: 120, every: 0.01, blockedOnThePipe), "a thread of ringside blocks writing the full stdout")
        var queued: Int32 = 0
        _ = ioctl(fd, UInt(FIONREAD), &queued)
        XCTAssertGreaterThan(capacity, 0)
        XCTAssertGreaterThanOrEqual(Int(queued), Int(capacity) - 512, "stdout is full")
        run.signal(SIGTERM)
        XCTAssertFalse(run.exits(within: 0.5), "the clean stop waits to print its summary")
        run.signal(SIGHUP)
        XCTAssertTrue(run.exits(within: 120), "the second signal ends it")
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
        XCTAssertTrue(run.exits(within: 120))
        XCTAssertEqual(run.status, 0, run.err)
        XCTAssertEqual(run.err, "ringside: interrupted (SIGINT): stopping the guest (a second signal exits at once)\n")
    }
}
