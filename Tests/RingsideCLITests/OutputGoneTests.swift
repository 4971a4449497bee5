import Foundation
import TestSupport
import XCTest

/// A VMM under a supervisor or in a pipeline must survive its output going away: a closed
/// pipe or a full disk on stdout or stderr ends only that output (docs/cli.md), with one
/// warning on the other stream; the guest runs on and the status is what it would have been.
final class OutputGoneTests: XCTestCase {
    let run = ["run", "--guest", "desktop", "--headless", "--width", "64", "--height", "64"]

    /// Runs `ringside args` with stdout and stderr going to `stdout` and `stderr` (paths);
    /// returns the status (or nil, after killing it, if it did not end in `timeout` s).
    func runTo(stdout: String, stderr: String, _ args: [String], timeout: Double = 60) throws -> Int32? {
        let p = Process()
        p.executableURL = ringsideExecutable()
        p.arguments = args
        p.standardOutput = try XCTUnwrap(FileHandle(forWritingAtPath: stdout))
        p.standardError = try XCTUnwrap(FileHandle(forWritingAtPath: stderr))
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let deadline = Date(timeIntervalSinceNow: timeout)
        while p.isRunning && Date() < deadline { usleep(10_000) }
        if p.isRunning { kill(p.processIdentifier, SIGKILL); p.waitUntilExit(); return nil }
        return p.terminationReason == .uncaughtSignal ? 128 + p.terminationStatus : p.terminationStatus
    }

    func tempFile(_ name: String) throws -> String {
        let path = NSTemporaryDirectory() + "ringside-\(name)-\(UUID().uuidString)"
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: nil))
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    /// `ringside run ... --stats | head -1`: head reads the first line and goes; the run goes
    /// on to its last frame without its stdout and ends with status 0.
    func testAPipeClosedAfterTheFirstLineEndsOnlyThatOutput() throws {
        try MigrationCheck.requireKVMDevice()
        let err = try tempFile("head-err")
        let script = "\"$0\" \"$@\" 2>\"$ERRFILE\" | head -1; echo \"status ${PIPESTATUS[0]}\""
        let r = try runProgram(URL(fileURLWithPath: "/bin/bash"), ["-c", script, ringsideExecutable().path] + run + ["--frames", "300", "--stats"],
                               environment: ProcessInfo.processInfo.environment.merging(["ERRFILE": err]) { $1 }, timeout: 60)
        let lines = r.out.split(separator: "\n")
        XCTAssertEqual(lines.count, 2, r.out)
        XCTAssertTrue(lines.first?.hasPrefix("ringside: desktop at 64x64") == true, r.out)
        XCTAssertEqual(lines.last, "status 0", "ringside ended cleanly: \(r.out)")
        let stderr = (try? String(contentsOfFile: err, encoding: .utf8)) ?? ""
        XCTAssertEqual(stderr, "ringside: warning: standard output is gone (Broken pipe): its lines are dropped and the run goes on\n")
    }

    /// stdout on a full disk (/dev/full): the guest runs to its last frame, status 0, and
    /// stderr says once what happened.
    func testAFullDiskOnStdoutEndsOnlyThatOutput() throws {
        try MigrationCheck.requireKVMDevice()
        let err = try tempFile("full-err")
        XCTAssertEqual(try runTo(stdout: "/dev/full", stderr: err, run + ["--frames", "120", "--stats"]), 0)
        XCTAssertEqual(try String(contentsOfFile: err, encoding: .utf8),
                       "ringside: warning: standard output is gone (No space left on device): its lines are dropped and the run goes on\n")
    }

    /// Both streams on a full disk: nothing can be said, and nothing traps. A run ends with
    /// status 0, bad input with 1.
    func testAFullDiskOnBothStreamsKeepsTheStatus() throws {
        try MigrationCheck.requireKVMDevice()
        XCTAssertEqual(try runTo(stdout: "/dev/full", stderr: "/dev/full", run + ["--frames", "60"]), 0)
        XCTAssertEqual(try runTo(stdout: "/dev/full", stderr: "/dev/full", run + ["--frames", "0"]), 1)
    }

    /// stderr on a full disk while stdout works: bad input still ends with status 1 and
    /// stdout stays empty.
    func testAFullDiskOnStderrKeepsTheStatusOfBadInput() throws {
        let out = try tempFile("full-out")
        XCTAssertEqual(try runTo(stdout: out, stderr: "/dev/full", ["run", "--guest", "no-such-guest", "--headless", "--frames", "5"]), 1)
        XCTAssertEqual(try String(contentsOfFile: out, encoding: .utf8), "")
    }
}
