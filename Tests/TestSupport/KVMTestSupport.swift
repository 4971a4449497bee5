import Foundation
import KVM
import Machine
import XCTest

/// Opens /dev/kvm, or skips the test when this machine has none. Any other failure to open
/// it (permissions, a broken module) fails the test: a host that has KVM must run these.
public func requireKVM(file: StaticString = #filePath, line: UInt = #line) throws -> KVMSystem {
    guard FileManager.default.fileExists(atPath: "/dev/kvm") else {
        throw XCTSkip("needs /dev/kvm: this machine has no KVM", file: file, line: line)
    }
    return try KVMSystem()
}

/// A built-in guest image from assets/guests/bin.
public func builtInGuest(_ name: String) throws -> GuestImage {
    try GuestCatalog.load(name)
}

/// A machine config for tests: small RAM, small screen, free-running guest.
public func testConfig(_ guest: String, args: String = "", width: Int = 320, height: Int = 200, pitch: Int? = nil,
                       cpus: Int = 1, ramMiB: UInt64 = 16, frames: Int? = nil) throws -> MachineConfig {
    var c = MachineConfig(image: try builtInGuest(guest))
    c.arguments = args
    c.width = width
    c.height = height
    c.pitch = pitch
    c.cpus = cpus
    c.ramBytes = ramMiB << 20
    c.guestHz = 0
    c.frameLimit = frames
    return c
}

/// Expected pixel of the `pattern` guest at frame `n` (assets/guests/README.md).
public func patternPixel(x: Int, y: Int, frame n: Int) -> UInt32 {
    let r = UInt32((x + n) & 0xFF), g = UInt32((y + 2 * n) & 0xFF), b = UInt32((x ^ y) & 0xFF)
    return r << 16 | g << 8 | b
}

/// Reads pixel (x, y) of a framebuffer with `pitch` bytes per row.
public func pixel(_ base: UnsafeRawPointer, pitch: Int, x: Int, y: Int) -> UInt32 {
    base.load(fromByteOffset: y * pitch + x * 4, as: UInt32.self)
}

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
public func runRingside(_ args: [String], environment: [String: String]? = nil, timeout: Double = 60) throws -> (status: Int32, out: String, err: String) {
    try runProgram(ringsideExecutable(), args, environment: environment, timeout: timeout)
}

/// Runs `executable` with arguments; returns exit status, stdout and stderr. A run longer
/// than `timeout` fails the test and is ended (SIGTERM, then SIGKILL).
public func runProgram(_ executable: URL, _ args: [String], environment: [String: String]? = nil,
                       timeout: Double = 60) throws -> (status: Int32, out: String, err: String) {
    let p = Process()
    p.executableURL = executable
    p.arguments = args
    if let environment { p.environment = environment }
    let outFile = FileManager.default.temporaryDirectory.appendingPathComponent("ringside-out-\(UUID().uuidString)")
    let errFile = FileManager.default.temporaryDirectory.appendingPathComponent("ringside-err-\(UUID().uuidString)")
    _ = FileManager.default.createFile(atPath: outFile.path, contents: nil)
    _ = FileManager.default.createFile(atPath: errFile.path, contents: nil)
    defer { try? FileManager.default.removeItem(at: outFile); try? FileManager.default.removeItem(at: errFile) }
    p.standardOutput = try FileHandle(forWritingTo: outFile)
    p.standardError = try FileHandle(forWritingTo: errFile)
    try p.run()
    let deadline = Date(timeIntervalSinceNow: timeout)
    while p.isRunning && Date() < deadline { usleep(10_000) }
    if p.isRunning {
        XCTFail("\(executable.lastPathComponent) \(args.joined(separator: " ")) did not finish in \(timeout) s")
        p.terminate()
        let grace = Date(timeIntervalSinceNow: 5)
        while p.isRunning && Date() < grace { usleep(10_000) }
        if p.isRunning { kill(p.processIdentifier, SIGKILL) }
    }
    p.waitUntilExit()
    let outData = (try? Data(contentsOf: outFile)) ?? Data(), errData = (try? Data(contentsOf: errFile)) ?? Data()
    return (p.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
}
