import Foundation
import XCTest

/// The path of the built `ringside` executable next to the test bundle.
public func ringsideExecutable() -> URL {
    var dir = URL(fileURLWithPath: CommandLine.arguments.first ?? ".").deletingLastPathComponent()
    if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
        dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
    }
    for _ in 0..<4 {
        let candidate = dir.appendingPathComponent("ringside")
        if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        dir.deleteLastPathComponent()
    }
    return URL(fileURLWithPath: ".build/debug/ringside")
}

/// Runs `ringside` with arguments; returns exit status, stdout and stderr.
public func runRingside(_ args: [String], environment: [String: String]? = nil, timeout: Double = 120,
                        file: StaticString = #filePath, line: UInt = #line) throws -> (status: Int32, out: String, err: String) {
    try runProgram(ringsideExecutable(), args, environment: environment, timeout: timeout, file: file, line: line)
}

/// Runs `executable` with arguments; returns exit status, stdout and stderr. A run longer
/// than `timeout` fails the test and is ended (SIGTERM, then SIGKILL).
public func runProgram(_ executable: URL, _ args: [String], environment: [String: String]? = nil, timeout: Double = 120,
                       file: StaticString = #filePath, line: UInt = #line) throws -> (status: Int32, out: String, err: String) {
    let r = try runProgramData(executable, args, environment: environment, timeout: timeout, file: file, line: line)
    return (r.status, String(decoding: r.out, as: UTF8.self), String(decoding: r.err, as: UTF8.self))
}

/// `runProgram` with stdout as bytes (an image a tool writes to stdout).
public func runProgramData(_ executable: URL, _ args: [String], environment: [String: String]? = nil, timeout: Double = 120,
                           file: StaticString = #filePath, line: UInt = #line) throws -> (status: Int32, out: Data, err: Data) {
    let p = Process()
    p.executableURL = executable
    p.arguments = args
    if let environment { p.environment = environment }
    // Files, not pipes: a child that fills a pipe nobody reads yet would block, and reading
    // a pipe to its end has no deadline.
    let tmp = FileManager.default.temporaryDirectory
    let outFile = tmp.appendingPathComponent("ringside-out-\(UUID().uuidString)")
    let errFile = tmp.appendingPathComponent("ringside-err-\(UUID().uuidString)")
    _ = FileManager.default.createFile(atPath: outFile.path, contents: nil)
    _ = FileManager.default.createFile(atPath: errFile.path, contents: nil)
    defer { try? FileManager.default.removeItem(at: outFile); try? FileManager.default.removeItem(at: errFile) }
    let outHandle = try FileHandle(forWritingTo: outFile), errHandle = try FileHandle(forWritingTo: errFile)
    defer { try? outHandle.close(); try? errHandle.close() }
    p.standardOutput = outHandle
    p.standardError = errHandle
    p.standardInput = FileHandle.nullDevice
    try p.run()
    let what = ([executable.lastPathComponent] + args).joined(separator: " ")
    let status = waitForExit(p, timeout: timeout, what, file: file, line: line) ?? -1
    return (status, (try? Data(contentsOf: outFile)) ?? Data(), (try? Data(contentsOf: errFile)) ?? Data())
}

/// Waits at most `timeout` seconds for `process` to exit and returns its status. Past the
/// deadline the test fails naming `what`, the process is ended (SIGTERM, then SIGKILL after
/// 5 s) and nil is returned.
@discardableResult
public func waitForExit(_ process: Process, timeout: Double, _ what: @autoclosure () -> String = "a child process",
                        file: StaticString = #filePath, line: UInt = #line) -> Int32? {
    if poll(timeout: timeout, every: 0.005, { !process.isRunning }) {
        process.waitUntilExit() // returns at once: it has exited; this reaps it
        return process.terminationStatus
    }
    XCTFail("\(what()) did not finish in \(Int(timeout)) s", file: file, line: line)
    end(process)
    return nil
}

/// Ends `process` if it still runs: SIGTERM, then SIGKILL if it has not exited in `grace`
/// seconds; returns once it has exited.
public func end(_ process: Process, grace: Double = 5) {
    guard process.isRunning else { return }
    process.terminate()
    if !poll(timeout: grace, every: 0.005, { !process.isRunning }) { kill(process.processIdentifier, SIGKILL) }
    _ = poll(timeout: 30, every: 0.005) { !process.isRunning }
    if !process.isRunning { process.waitUntilExit() }
}

/// The whole of a /proc file: `String(contentsOfFile:)` stops after its first page (a procfs
/// file's size reads as 0 and it reads once), so a busy /proc/net/tcp loses most of its lines.
public func procText(_ path: String) -> String {
    guard let handle = FileHandle(forReadingAtPath: path), let data = try? handle.readToEnd() else { return "" }
    try? handle.close()
    return String(decoding: data ?? Data(), as: UTF8.self)
}
