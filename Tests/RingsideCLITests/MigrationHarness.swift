import Foundation
import MigrationWire
import TestSupport
import XCTest

/// A `ringside` process (or `ip netns exec NS ringside ...`) whose stdout and stderr go to
/// files the test polls, so waiting for a line never blocks past its timeout.
final class RingsideProcess: Sendable {
    let process = Process()
    let label: String
    private let outFile: URL
    private let errFile: URL

    /// Starts `ringside args`, or `ip netns exec namespace ringside args` with a namespace.
    convenience init(_ label: String, _ args: [String], namespace: String? = nil) throws {
        if let namespace {
            try self.init(label, executable: URL(fileURLWithPath: MigrationNet.ip), ["netns", "exec", namespace, ringsideExecutable().path] + args)
        } else {
            try self.init(label, executable: ringsideExecutable(), args)
        }
    }

    init(_ label: String, executable: URL, _ args: [String]) throws {
        self.label = label
        let tmp = FileManager.default.temporaryDirectory
        outFile = tmp.appendingPathComponent("ringside-mig-out-\(UUID().uuidString)")
        errFile = tmp.appendingPathComponent("ringside-mig-err-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: outFile.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errFile.path, contents: nil)
        process.executableURL = executable
        process.arguments = args
        process.standardOutput = try FileHandle(forWritingTo: outFile)
        process.standardError = try FileHandle(forWritingTo: errFile)
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL); _ = poll(timeout: 30) { !process.isRunning } }
        try? FileManager.default.removeItem(at: outFile)
        try? FileManager.default.removeItem(at: errFile)
    }

    var out: String { (try? String(contentsOf: outFile, encoding: .utf8)) ?? "" }
    var err: String { (try? String(contentsOf: errFile, encoding: .utf8)) ?? "" }
    /// Stdout and stderr, for failure messages.
    var transcript: String { "[\(label) stdout]\n\(out)[\(label) stderr]\n\(err)" }

    /// Waits until stdout contains `needle`; false if it did not within `timeout` seconds
    /// or the process ended without printing it.
    func waitForOutput(_ needle: String, timeout: Double = 60) -> Bool {
        _ = poll(timeout: timeout, every: 0.01) { out.contains(needle) || !process.isRunning }
        return out.contains(needle)
    }

    /// The port of `ringside receive`'s "waiting for a migration on HOST:PORT" line.
    func listeningPort(timeout: Double = 60) -> Int? {
        guard waitForOutput("ringside: waiting for a migration on ", timeout: timeout) else { return nil }
        for line in out.split(separator: "\n") where line.hasPrefix("ringside: waiting for a migration on ") {
            if let colon = line.lastIndex(of: ":"), let port = Int(line[line.index(after: colon)...]) { return port }
        }
        return nil
    }

    /// Waits for the exit status; after `timeout` seconds the process is killed and nil returned.
    func exitStatus(timeout: Double = 120) -> Int32? {
        if poll(timeout: timeout, every: 0.01, { !process.isRunning }) {
            process.waitUntilExit() // it has exited: this only reaps it
            return process.terminationStatus
        }
        kill(process.processIdentifier, SIGKILL)
        _ = poll(timeout: 30) { !process.isRunning }
        return nil
    }

    var isRunning: Bool { process.isRunning }
    func signal(_ s: Int32) { kill(process.processIdentifier, s) }

    /// The line a first SIGTERM puts on stderr.
    static let sigtermLine = "ringside: SIGTERM received: stopping the guest (a second signal exits at once)\n"

    /// For a run writing a PNG file every frame (`--png-every 1`) into `dir`: waits until it
    /// has written at least `count` files of frames after `frame` (frames it drew itself, each written while every
    /// vCPU was held at that frame's doorbell), then stops it with SIGTERM. Returns the
    /// files written, sorted (their names carry the frame numbers); empty if none came.
    /// The run then ends with status 0 and `sigtermLine` on stderr. This is how a test ends a
    /// migrated guest at a frame it cannot know in advance: how many frames pass during a
    /// pre-copy is the host's business.
    func stopAfterDrawing(_ count: Int = 1, filesIn dir: String, after frame: Int = 0, timeout: Double = 120) -> [String] {
        func drawn() -> [Int] { MigrationCheck.pngFiles(dir).compactMap(MigrationCheck.frame(ofFile:)).filter { $0 > frame } }
        _ = poll(timeout: timeout, every: 0.01) { drawn().count >= count || !process.isRunning }
        signal(SIGTERM)
        _ = exitStatus()
        return MigrationCheck.pngFiles(dir)
    }
}

/// What the tests share: directories, reference pictures and the stderr checks.
enum MigrationCheck {
    static func requireKVMDevice(file: StaticString = #filePath, line: UInt = #line) throws {
        try TestSupport.requireKVMDevice(file: file, line: line)
    }

    static func tempDir(_ test: XCTestCase, _ name: String) throws -> String {
        let d = NSTemporaryDirectory() + "ringside-mig-\(name)-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        test.addTeardownBlock { try? FileManager.default.removeItem(atPath: d) }
        return d
    }

    static func pngName(_ frame: Int) -> String { String(format: "frame-%06d.png", frame) }

    /// PNG files in `dir` (none when it does not exist).
    static func pngFiles(_ dir: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasSuffix(".png") }.sorted()
    }

    /// Runs the guest unmigrated and free-running to `frames` and returns its last PNG's bytes.
    /// The picture depends only on the guest, its arguments, the geometry, the vCPUs and the
    /// frame number, so pacing does not matter.
    static func reference(guest: String, args: String = "", cpus: Int = 1, width: Int, height: Int, memory: String,
                          frames: Int, dir: String) throws -> Data? {
        let r = try runRingside(["run", "--guest", guest, "--args", args, "--cpus", "\(cpus)", "--headless", "--width", "\(width)",
                                 "--height", "\(height)", "--memory", memory, "--guest-hz", "0", "--frames", "\(frames)", "--png", dir])
        guard r.status == 0 else { return nil }
        return FileManager.default.contents(atPath: dir + "/" + pngName(frames))
    }

    /// Width and height from a PNG file's header (IHDR), nil if it is not a PNG.
    static func pngSize(_ path: String) -> (width: Int, height: Int)? {
        guard let d = FileManager.default.contents(atPath: path), d.count >= 24, d.starts(with: [0x89, 0x50, 0x4E, 0x47]) else { return nil }
        func be32(_ at: Int) -> Int { d[at..<(at + 4)].reduce(0) { $0 << 8 | Int($1) } }
        return (be32(16), be32(20))
    }

    /// The frame number in a `frame-000123.png` file name.
    static func frame(ofFile name: String) -> Int? {
        guard name.hasPrefix("frame-"), name.hasSuffix(".png") else { return nil }
        return Int(name.dropFirst(6).dropLast(4))
    }

    /// Runs the guest unmigrated and free-running to frame `last`, writing every frame as the
    /// destinations of these tests do (`--png-every 1`, lockstep), and returns nil when each of
    /// `files` in `dstDir` equals the same frame of this run byte for byte, else what differs.
    static func compareWithUnmigrated(_ files: [String], in dstDir: String, guest: String, args: String = "", cpus: Int = 1,
                                      width: Int, height: Int, memory: String, extra: [String] = [], refDir: String) -> String? {
        guard let last = files.compactMap(frame(ofFile:)).max() else { return "no frame files at the destination" }
        guard let r = try? runRingside(["run", "--guest", guest, "--args", args, "--cpus", "\(cpus)", "--headless", "--width", "\(width)",
                                        "--height", "\(height)", "--memory", memory, "--guest-hz", "0", "--frames", "\(last)",
                                        "--png", refDir, "--png-every", "1"] + extra), r.status == 0 else {
            return "the unmigrated run to frame \(last) failed"
        }
        var problems: [String] = []
        for f in files {
            let a = FileManager.default.contents(atPath: dstDir + "/" + f), b = FileManager.default.contents(atPath: refDir + "/" + f)
            if a == nil || b == nil || a != b { problems.append(f + (a == nil || b == nil ? " (missing)" : " " + describeDifference(dstDir + "/" + f, refDir + "/" + f))) }
        }
        return problems.isEmpty ? nil : "\(problems.count) of \(files.count) frames differ from the unmigrated run's: \(problems.prefix(5))"
    }

    /// How two PNG files differ, in pixels, and where both were kept for a look.
    static func describeDifference(_ a: String, _ b: String) -> String {
        let keep = NSTemporaryDirectory() + "ringside-mismatch-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: keep, withIntermediateDirectories: true)
        try? FileManager.default.copyItem(atPath: a, toPath: keep + "/destination.png")
        try? FileManager.default.copyItem(atPath: b, toPath: keep + "/unmigrated.png")
        guard let both = try? DecodedPNG.decodeAll([a, b]), both.count == 2, both[0].width == both[1].width, both[0].height == both[1].height else {
            return "(sizes differ; kept in \(keep))"
        }
        let (x, y) = (both[0], both[1])
        var wrong: [(Int, Int)] = []
        for py in 0..<x.height { for px in 0..<x.width where x.pixel(x: px, y: py) != y.pixel(x: px, y: py) { wrong.append((px, py)) } }
        let rows = Set(wrong.map(\.1)).sorted()
        return "(\(wrong.count) pixels differ, first at \(wrong.first.map { "\($0)" } ?? "-"), rows \(rows.first ?? 0)...\(rows.last ?? 0); kept in \(keep))"
    }

    /// Nil when `err` is exactly one line that contains one of `needles`; else what is wrong.
    static func oneLineProblem(_ err: String, containing needles: [String]) -> String? {
        let lines = err.split(separator: "\n", omittingEmptySubsequences: false)
        guard err.hasSuffix("\n"), lines.count == 2 else { return "expected one line on stderr, got: \(err.debugDescription)" }
        guard needles.contains(where: { err.contains($0) }) else { return "stderr does not name \(needles): \(err.debugDescription)" }
        for bad in ["Fatal error", "Backtrace", "backtrace", "Trace/breakpoint", "Illegal instruction", "Current stack trace"] where err.contains(bad) {
            return "stderr shows a trap: \(err.debugDescription)"
        }
        return nil
    }
}

/// Runs `jobs` on `width` threads at a time and returns their results in order.
func inParallel<T>(width: Int, _ jobs: [() -> T]) -> [T] {
    let state = ParallelJobs(jobs)
    let group = DispatchGroup()
    for _ in 0..<min(width, jobs.count) {
        group.enter()
        Thread {
            while let i = state.take() { state.put(i, state.jobs[i]()) }
            group.leave()
        }.start()
    }
    // Each job bounds its own processes; this only keeps a stuck job from hanging the suite.
    if group.wait(timeout: .now() + 1800) == .timedOut { preconditionFailure("parallel test jobs did not finish in 30 minutes") }
    return state.results.map { $0! }
}

/// The jobs of `inParallel` and their results, under a lock.
// @unchecked Sendable: the jobs need not be Sendable (each runs once, on one worker); `lock` guards the rest.
private final class ParallelJobs<T>: @unchecked Sendable {
    let jobs: [() -> T]
    private let lock = NSLock()
    private var next = 0
    private(set) var results: [T?]
    init(_ jobs: [() -> T]) { self.jobs = jobs; results = [T?](repeating: nil, count: jobs.count) }
    func take() -> Int? {
        lock.lock(); defer { lock.unlock() }
        guard next < jobs.count else { return nil }
        next += 1
        return next - 1
    }
    func put(_ i: Int, _ r: T) { lock.lock(); results[i] = r; lock.unlock() }
}
