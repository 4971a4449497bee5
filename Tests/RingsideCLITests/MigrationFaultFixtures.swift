import Foundation
import KVM
import Machine
import MigrationWire
import TestSupport
import XCTest

/// What the migration fault tests share: a `receive` and a `run` that migrates at frame 30, the
/// checks that the source kept its guest and that the destination kept nothing, and raw streams
/// sent straight to a `receive`.
protocol MigrationFaultFixtures: XCTestCase {}

extension MigrationFaultFixtures {
    static var width: Int { 320 }
    static var height: Int { 200 }

    func receive(_ extra: [String] = [], label: String = "receive", listen: String = "127.0.0.1:0", frames: Int = 120,
                 pngDir: String? = nil) throws -> RingsideProcess {
        try RingsideProcess(label, ["receive", "--listen", listen, "--headless", "--frames", "\(frames)"] + (pngDir.map { ["--png", $0] } ?? []) + extra)
    }

    /// A source that migrates at its frame 30 and writes every frame it draws into `pngDir`;
    /// it runs until it hands the guest over or is stopped.
    func source(port: Int, memory: String = "32M", pngDir: String, _ extra: [String] = []) throws -> RingsideProcess {
        try RingsideProcess("run", ["run", "--guest", "desktop", "--headless", "--width", "\(Self.width)", "--height", "\(Self.height)",
                                    "--memory", memory, "--png", pngDir, "--png-every", "1",
                                    "--migrate-to", "127.0.0.1:\(port)", "--migrate-at-frame", "30"] + extra)
    }

    /// The source failed once and said so in exactly one line; it drew frames after that
    /// (it is then stopped with SIGTERM), each the very picture of an unmigrated run. Returns
    /// its failure line.
    @discardableResult
    func assertSourceKeptRunning(_ src: RingsideProcess, port: Int, pngDir: String, memory: String = "32M", naming: String,
                                 file: StaticString = #filePath, line: UInt = #line) -> String {
        let prefix = "ringside: migration to 127.0.0.1:\(port) failed, the guest keeps running here: "
        XCTAssertTrue(poll(timeout: 120) { src.err.contains("\n") || !src.isRunning }, src.transcript, file: file, line: line)
        let failure = src.err.split(separator: "\n").first.map { String($0) + "\n" } ?? ""
        // Frames drawn after the failure line: the guest keeps running here.
        let drawnBefore = MigrationCheck.pngFiles(pngDir).compactMap(MigrationCheck.frame(ofFile:)).max() ?? 0
        let files = src.stopAfterDrawing(filesIn: pngDir, after: drawnBefore + 1)
        XCTAssertEqual(src.exitStatus(), 0, src.transcript, file: file, line: line)
        XCTAssertTrue(failure.hasPrefix(prefix) && failure.contains(naming), "the source says why: \(src.err)", file: file, line: line)
        XCTAssertEqual(src.err, failure + RingsideProcess.sigtermLine, "one line, then the stop: \(src.err)", file: file, line: line)
        XCTAssertFalse(src.out.contains("migrated to"), src.transcript, file: file, line: line)
        XCTAssertGreaterThan(files.compactMap(MigrationCheck.frame(ofFile:)).max() ?? 0, drawnBefore + 1,
                             "the guest ran on here after the failure", file: file, line: line)
        XCTAssertNil(MigrationCheck.compareWithUnmigrated(files, in: pngDir, guest: "desktop", width: Self.width, height: Self.height,
                                                          memory: memory, refDir: pngDir + "-ref"), file: file, line: line)
        return failure
    }

    /// The destination ended with status 1, one line naming `naming`, and wrote no picture.
    func assertDestinationGaveUp(_ dst: RingsideProcess, pngDir: String?, naming: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(dst.exitStatus(), 1, dst.transcript, file: file, line: line)
        if let problem = MigrationCheck.oneLineProblem(dst.err, containing: naming) { XCTFail(problem, file: file, line: line) }
        XCTAssertTrue(dst.err.hasPrefix("ringside: migration failed, nothing was kept: "), dst.err, file: file, line: line)
        if let pngDir { XCTAssertEqual(MigrationCheck.pngFiles(pngDir), [], "no picture at the destination", file: file, line: line) }
    }

    /// Connects to a fresh `receive`, sends `chunks`, and checks it ends with status 1 and one
    /// line containing `expected` (and, unless the stream never got past hello, an abort).
    func sendRaw(_ name: String, _ chunks: [[UInt8]], expecting expected: String, abort: Bool = false, receiveOptions: [String] = [],
                 timeout: Double = 120) -> String? {
        do {
            let dst = try receive(receiveOptions)
            guard let port = dst.listeningPort() else { return "\(name): no listening port\n\(dst.transcript)" }
            let fd = try TCP.connect(port: port)
            defer { close(fd) }
            for c in chunks where !TCP.sendAll(fd, c) { break } // the destination may hang up early
            let status = dst.exitStatus(timeout: timeout)
            let replies = Self.messages(in: TCP.readToEnd(fd, timeout: 1)).filter { $0 != .heartbeat }
            if abort {
                guard case .abort(let why)? = replies.last, why.contains(expected) else {
                    return "\(name): the destination's last message is not an abort naming \(expected.debugDescription): \(replies)"
                }
            }
            if status != 1 { return "\(name): status \(String(describing: status)), not 1\n\(dst.transcript)" }
            if let p = MigrationCheck.oneLineProblem(dst.err, containing: [expected]) { return "\(name): \(p)" }
            if !dst.err.hasPrefix("ringside: migration failed, nothing was kept: ") { return "\(name): \(dst.err)" }
            return nil
        } catch {
            return "\(name): \(error)"
        }
    }

    /// The whole messages in `bytes`.
    static func messages(in bytes: [UInt8]) -> [MigrationMessage] {
        var out: [MigrationMessage] = []
        var at = 0
        while at + 4 <= bytes.count, let n = try? MigrationWire.frameLength(bytes[at..<at + 4]), at + 4 + n <= bytes.count,
              let m = try? MigrationWire.decode(Array(bytes[at + 4..<at + 4 + n])) {
            out.append(m)
            at += 4 + n
        }
        return out
    }

    /// A valid hello and config for a 320x200 desktop with 32 MiB of RAM, changed by `change`.
    func preamble(_ change: (inout MigrationConfig) -> Void = { _ in }) throws -> [UInt8] {
        let image = try XCTUnwrap(FileManager.default.contents(atPath: try builtInGuest("desktop").path))
        let bytes = [UInt8](image)
        var config = MigrationConfig(
            imageName: "desktop", image: bytes, imageDigest: bytes.withUnsafeBytes { PageDigest.of($0) }, arguments: "", ramBytes: 32 << 20,
            cpus: 1, width: UInt32(Self.width), height: UInt32(Self.height), pitch: UInt32(Self.width * 4), guestHz: 60, tracking: "ring",
            ringEntries: 4096, tileWidth: 64, tileHeight: 16, verify: false)
        change(&config)
        var out: [UInt8] = []
        MigrationWire.encode(.hello(version: MigrationWire.version, capabilities: 0), into: &out)
        MigrationWire.encode(.config(config), into: &out)
        return out
    }
}
