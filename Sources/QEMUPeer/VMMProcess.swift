#if canImport(Glibc)
import Glibc
#endif
internal import CQEMUPeer
import Foundation
import Synchronization

/// A VMM running as a child process (QEMU, or `ringside run` in the benchmark): its output
/// line by line, its exit, and what /proc says about its CPU time and memory. Started with
/// `cqp_spawn`, so it gets SIGTERM if the thread that started it (call from the main thread)
/// ends first.
public final class VMMProcess: Sendable {
    public let pid: Int32
    /// The exit status once it has exited, and the last lines of stdout and stderr.
    private let state = Mutex<(status: Int32?, tails: [[String]])>((nil, [[], []]))
    /// Entered by the waiter and the two readers; left by each as it ends.
    private let ended = DispatchGroup()

    /// Starts `arguments` (argv[0] looked up on PATH); `stdout` and `stderr` get each line
    /// (without the newline) on a reader thread of their own.
    public init(_ arguments: [String], stdout: @escaping @Sendable (String) -> Void, stderr: @escaping @Sendable (String) -> Void) throws(QEMUError) {
        var out: [Int32] = [0, 0], err: [Int32] = [0, 0]
        guard cqp_pipe_cloexec(&out) == 0 else { throw .system(operation: "pipe", errno: errno) }
        guard cqp_pipe_cloexec(&err) == 0 else {
            let e = errno
            close(out[0]); close(out[1])
            throw .system(operation: "pipe", errno: e)
        }
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        let pid = argv.withUnsafeMutableBufferPointer { cqp_spawn($0.baseAddress, out[1], err[1]) }
        close(out[1]); close(err[1])
        guard pid > 0 else {
            close(out[0]); close(err[0])
            throw .system(operation: "starting \(arguments[0])", errno: -pid)
        }
        self.pid = pid
        startReader(fd: out[0], index: 0, deliver: stdout)
        startReader(fd: err[0], index: 1, deliver: stderr)
        ended.enter()
        let waiter = Thread { [self] in
            var raw: Int32 = 0
            while waitpid(pid, &raw, 0) < 0 && errno == EINTR {}
            let code: Int32 = (raw & 0x7F) == 0 ? (raw >> 8) & 0xFF : 128 + (raw & 0x7F)
            state.withLock { $0.status = code }
            ended.leave()
        }
        waiter.name = "vmm-wait"
        waiter.start()
    }

    private func startReader(fd: Int32, index: Int, deliver: @escaping @Sendable (String) -> Void) {
        ended.enter()
        let t = Thread { [self] in
            var pending: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                pending += buffer[0..<n]
                while let nl = pending.firstIndex(of: 10) {
                    let line = String(decoding: pending[..<nl], as: UTF8.self)
                    pending.removeSubrange(...nl)
                    state.withLock { $0.tails[index] = Array(($0.tails[index] + [line]).suffix(20)) }
                    deliver(line)
                }
            }
            if !pending.isEmpty { deliver(String(decoding: pending, as: UTF8.self)) }
            close(fd)
            ended.leave()
        }
        t.name = "vmm-output"
        t.start()
    }

    /// The exit status (128 + signal when killed), nil while it runs.
    public var exitStatus: Int32? { state.withLock { $0.status } }

    /// The last lines it wrote to stderr (up to 20).
    public var lastErrorLines: [String] { state.withLock { $0.tails[1] } }

    /// Waits until it has exited and its output is read, or `seconds` pass; its status, or nil.
    @discardableResult
    public func wait(seconds: Double) -> Int32? {
        _ = ended.wait(timeout: .now() + seconds)
        return exitStatus
    }

    public func signal(_ sig: Int32) {
        if exitStatus == nil { kill(pid, sig) }
    }

    /// SIGTERM, then SIGKILL if it is still there after `grace` seconds; waits for the exit.
    public func terminate(grace: Double = 5) {
        signal(SIGTERM)
        if wait(seconds: grace) == nil {
            signal(SIGKILL)
            wait(seconds: 10)
        }
    }

    /// User plus system CPU time of the whole process (every thread) so far, in seconds,
    /// from /proc/PID/stat; nil once it has gone.
    public var cpuSeconds: Double? { ProcStat.cpuSeconds(pid: pid) }

    /// Peak resident set size (VmHWM) in bytes; nil once it has gone.
    public var peakRSS: UInt64? { ProcStat.peakRSS(pid: pid) }

    /// Resident set size now (VmRSS) in bytes; nil once it has gone.
    public var rss: UInt64? { ProcStat.status(pid: pid, field: "VmRSS:") }
}

/// What /proc says about a process.
public enum ProcStat {
    /// The whole of a /proc file. `String(contentsOfFile:)` and `Data(contentsOf:)` stop after
    /// the first page of a procfs file (its size reads as 0, and they read once): QEMU's
    /// /proc/PID/maps runs to tens of KiB, and the guest's RAM may be past the first 4 KiB.
    public static func text(_ path: String) -> String? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        guard let data = try? handle.readToEnd() else { return nil }
        return String(decoding: data ?? Data(), as: UTF8.self)
    }

    public static func cpuSeconds(pid: Int32) -> Double? {
        guard let text = text("/proc/\(pid)/stat"),
              let close = text.lastIndex(of: ")") else { return nil }
        // After "pid (comm) ": state is field 3; utime and stime are fields 14 and 15.
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let utime = Double(fields[11]), let stime = Double(fields[12]) else { return nil }
        return (utime + stime) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    public static func peakRSS(pid: Int32) -> UInt64? { status(pid: pid, field: "VmHWM:") }

    /// A "kB" line of /proc/PID/status, in bytes.
    public static func status(pid: Int32, field: String) -> UInt64? {
        guard let text = text("/proc/\(pid)/status") else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(field) {
            let parts = line.split(separator: " ")
            if parts.count >= 2, let kib = UInt64(parts[1]) { return kib * 1024 }
        }
        return nil
    }
}
