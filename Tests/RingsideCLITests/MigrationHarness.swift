import Foundation
import MigrationWire
import TestSupport
import XCTest

/// A `ringside` process (or `ip netns exec NS ringside ...`) whose stdout and stderr go to
/// files the test polls, so waiting for a line never blocks past its timeout.
final class RingsideProcess: @unchecked Sendable {
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

/// Plain blocking TCP over loopback, for streams no Ringside would send.
enum TCP {
    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ what: String) { description = "\(what) failed: \(String(cString: strerror(errno)))" }
    }

    static func address(_ host: String, _ port: Int) -> sockaddr_in {
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, host, &a.sin_addr)
        return a
    }

    static func connect(_ host: String = "127.0.0.1", port: Int) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure("socket") }
        var a = address(host, port)
        let r = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard r == 0 else { let f = Failure("connect to \(host):\(port)"); close(fd); throw f }
        return fd
    }

    /// A listening socket on 127.0.0.1 and its port.
    static func listen() throws -> (fd: Int32, port: Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure("socket") }
        var a = address("127.0.0.1", 0)
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &a) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, len) == 0 && Glibc.listen(fd, 4) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        guard bound else { let f = Failure("bind/listen"); close(fd); throw f }
        return (fd, Int(UInt16(bigEndian: a.sin_port)))
    }

    /// A port on 127.0.0.1 that refuses connections and that nothing else can take while `fd`
    /// is open: bound, never listening. (Closing a listener and hoping its port stays free
    /// races every other process on the host that wants an ephemeral port.)
    static func refusingPort() throws -> (fd: Int32, port: Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure("socket") }
        var a = address("127.0.0.1", 0)
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &a) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        guard bound else { let f = Failure("bind"); close(fd); throw f }
        return (fd, Int(UInt16(bigEndian: a.sin_port)))
    }

    /// Sends every byte (no SIGPIPE if the peer has gone); false if the peer went away first.
    @discardableResult
    static func sendAll(_ fd: Int32, _ bytes: some Collection<UInt8>) -> Bool {
        let data = Array(bytes)
        var at = 0
        while at < data.count {
            let n = data[at...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return false }
            at += n
        }
        return true
    }

    /// Whether the kernel holds an established connection to local port `port` (one a
    /// client made, even to a server that has not accepted it yet).
    static func established(toPort port: Int) -> Bool {
        let hex = String(format: ":%04X", port)
        for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
            let text = (try? String(contentsOfFile: table, encoding: .utf8)) ?? ""
            for line in text.split(separator: "\n").dropFirst() {
                let f = line.split(separator: " ")
                if f.count > 3, f[1].hasSuffix(hex), f[3] == "01" { return true }
            }
        }
        return false
    }

    /// Everything the peer sends until it closes (or `timeout` seconds pass).
    static func readToEnd(_ fd: Int32, timeout: Double = 30) -> [UInt8] {
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        let deadline = Date(timeIntervalSinceNow: timeout)
        while Date() < deadline {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, 100) >= 0 else { break }
            guard p.revents != 0 else { continue }
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            out += buf[0..<n]
        }
        return out
    }
}

/// A proxy on 127.0.0.1 that forwards one connection to `upstream` and, once it has passed
/// `cutAfter` bytes from the client, closes both sides: a connection cut mid-stream.
final class CuttingProxy: @unchecked Sendable {
    let port: Int
    private let listener: Int32
    private let done = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var _forwarded = 0
    private var _cut = false
    /// Client bytes passed upstream, and whether the cut was made (the client sent enough).
    var forwarded: Int { lock.lock(); defer { lock.unlock() }; return _forwarded }
    var cut: Bool { lock.lock(); defer { lock.unlock() }; return _cut }

    init(upstream: Int, cutAfter limit: Int) throws {
        (listener, port) = try TCP.listen()
        let listener = listener
        Thread { [self] in
            defer { close(listener); done.signal() }
            let client = accept(listener, nil, nil)
            guard client >= 0 else { return }
            defer { close(client) }
            guard let server = try? TCP.connect(port: upstream) else { return }
            defer { close(server) }
            var buf = [UInt8](repeating: 0, count: 65536)
            var passed = 0
            var fds = [pollfd(fd: client, events: Int16(POLLIN), revents: 0), pollfd(fd: server, events: Int16(POLLIN), revents: 0)]
            let deadline = Date(timeIntervalSinceNow: 60)
            while passed < limit && Date() < deadline {
                guard poll(&fds, 2, 100) >= 0 else { return }
                if fds[1].revents != 0 { // the destination's replies go through untouched
                    let n = buf.withUnsafeMutableBytes { recv(server, $0.baseAddress, $0.count, 0) }
                    guard n > 0, TCP.sendAll(client, buf[0..<n]) else { return }
                }
                if fds[0].revents != 0 {
                    let n = buf.withUnsafeMutableBytes { recv(client, $0.baseAddress, min($0.count, limit - passed), 0) }
                    guard n > 0, TCP.sendAll(server, buf[0..<n]) else { return }
                    passed += n
                    lock.lock(); _forwarded = passed; lock.unlock()
                }
            }
            lock.lock(); _cut = passed >= limit; lock.unlock()
            // The deferred closes cut both connections here.
        }.start()
    }

    /// Waits for the proxy's one connection to end.
    func wait(timeout: Double = 60) -> Bool { done.wait(timeout: .now() + timeout) == .success }
}

/// A proxy on 127.0.0.1 whose first connection goes to `first` and every later one to `then`.
/// The first stalls once `stallAfter` bytes from the client went through (nothing more is
/// read from the client, so the client's sends block mid-stream), until `first` goes away;
/// then the proxy closes the client's side too: a destination that dies mid-stream, at a
/// point the test chooses rather than one a timer hopes for.
final class FailoverProxy: @unchecked Sendable {
    let port: Int
    private let listener: Int32
    private let lock = NSLock()
    private var _stalled = false
    /// Whether the first connection has passed `stallAfter` bytes and stalls.
    var stalled: Bool { lock.lock(); defer { lock.unlock() }; return _stalled }

    init(first: Int, then: Int, stallAfter: Int) throws {
        (listener, port) = try TCP.listen()
        let listener = listener
        Thread { [self] in
            defer { close(listener) }
            for (k, upstream) in [first, then].enumerated() {
                let client = accept(listener, nil, nil)
                guard client >= 0 else { return }
                let limit = k == 0 ? stallAfter : Int.max
                Thread { self.relay(client, to: upstream, limit: limit) }.start()
            }
        }.start()
    }

    private func relay(_ client: Int32, to upstream: Int, limit: Int) {
        defer { close(client) }
        guard let server = try? TCP.connect(port: upstream) else { return }
        defer { close(server) }
        var buf = [UInt8](repeating: 0, count: 65536)
        var passed = 0
        var fds = [pollfd(fd: server, events: Int16(POLLIN), revents: 0), pollfd(fd: client, events: Int16(POLLIN), revents: 0)]
        let deadline = Date(timeIntervalSinceNow: 600)
        while Date() < deadline {
            fds[1].events = passed < limit ? Int16(POLLIN) : 0 // stalled: leave the client's bytes unread
            guard poll(&fds, 2, 100) >= 0 else { return }
            if fds[0].revents != 0 {
                let n = buf.withUnsafeMutableBytes { recv(server, $0.baseAddress, $0.count, 0) }
                guard n > 0, TCP.sendAll(client, buf[0..<n]) else { return } // the destination went away
            }
            if fds[1].revents != 0 {
                let n = buf.withUnsafeMutableBytes { recv(client, $0.baseAddress, min($0.count, limit - passed), 0) }
                guard n > 0, TCP.sendAll(server, buf[0..<n]) else { return }
                passed += n
                if passed >= limit { lock.lock(); _stalled = true; lock.unlock() }
            }
        }
    }
}

/// A destination written with MigrationWire that follows the protocol up to a point and
/// then misbehaves, for what the real one never does.
final class FakeDestination: @unchecked Sendable {
    enum Ending {
        /// Answers `complete` with an abort, after the source has paused and sent the vCPUs.
        case abortAtComplete(String)
        /// Says ready, takes the commit, then closes without `started`.
        case closeAfterCommit
    }
    let port: Int
    private let listener: Int32
    private let done = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var _seen: [String] = []
    /// The names of the messages received, in order.
    var seen: [String] { lock.lock(); defer { lock.unlock() }; return _seen }

    init(_ ending: Ending) throws {
        (listener, port) = try TCP.listen()
        let listener = listener
        Thread { [self] in
            defer { close(listener); done.signal() }
            let fd = accept(listener, nil, nil)
            guard fd >= 0 else { return }
            defer { close(fd) }
            func reply(_ m: MigrationMessage) -> Bool {
                var out: [UInt8] = []
                MigrationWire.encode(m, into: &out)
                return TCP.sendAll(fd, out)
            }
            while let m = Self.readMessage(fd) {
                lock.lock(); _seen.append(m.name); lock.unlock()
                switch m {
                case .hello: guard reply(.hello(version: MigrationWire.version, capabilities: 0)) else { return }
                case .config: guard reply(.accepted) else { return }
                case .complete:
                    switch ending {
                    case .abortAtComplete(let why): _ = reply(.abort(why)); _ = TCP.readToEnd(fd, timeout: 10); return
                    case .closeAfterCommit: guard reply(.ready) else { return }
                    }
                case .commit: return
                default: break
                }
            }
        }.start()
    }

    /// One whole message, or nil at the end of the stream or on any error.
    static func readMessage(_ fd: Int32) -> MigrationMessage? {
        func read(_ n: Int) -> [UInt8]? {
            var buf = [UInt8](repeating: 0, count: n)
            var at = 0
            while at < n {
                let r = buf[at...].withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if r < 0 && errno == EINTR { continue }
                guard r > 0 else { return nil }
                at += r
            }
            return buf
        }
        guard let header = read(4), let length = try? MigrationWire.frameLength(header), let body = read(length) else { return nil }
        return try? MigrationWire.decode(body)
    }

    func wait(timeout: Double = 60) -> Bool { done.wait(timeout: .now() + timeout) == .success }
}
