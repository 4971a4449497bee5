import Foundation
import Synchronization

/// Where the CLI's lines go: stdout (the header, the guest's console, statistics, summaries)
/// and stderr (`ringside: ...` errors and warnings). A stream that goes away (a reader that
/// closed its pipe, as `| head -1` does; a full disk; any write error) ends only that output:
/// the rest of its lines are dropped, stderr says so once if it can, and the run goes on with
/// the status it would have had (docs/cli.md). Never a trap: a write is a plain `write(2)`
/// whose errors are data, and SIGPIPE is ignored so a closed pipe is an EPIPE, not a death.
enum Console {
    private static let stdout = OutputStream(fd: STDOUT_FILENO, name: "standard output")
    private static let stderr = OutputStream(fd: STDERR_FILENO, name: "standard error")

    /// Before anything is written: a closed pipe becomes an error on the write.
    static func start() {
        signal(SIGPIPE, SIG_IGN)
    }

    static func error(_ line: String) {
        stderr.write("ringside: \(line)\n")
    }

    static func out(_ line: String) {
        if let failure = stdout.write(line + "\n") {
            // Said once, on stderr; a failed stderr is not reported on stdout (it is the data).
            stderr.write("ringside: warning: standard output is gone (\(failure)): its lines are dropped and the run goes on\n")
        }
    }

    /// A progress line on stderr, rewritten in place on a terminal; nil clears it.
    static func progress(_ line: String?) {
        guard isatty(STDERR_FILENO) != 0 else { return }
        stderr.write("\r\u{1B}[K" + (line ?? ""))
    }
}

/// One of the process's output streams, written whole lines at a time with `write(2)`.
final class OutputStream: Sendable {
    let fd: Int32
    let name: String
    private let gone = Atomic<Bool>(false)

    init(fd: Int32, name: String) {
        self.fd = fd
        self.name = name
    }

    /// Writes `text`; once a write has failed, nothing more is written. Returns the reason
    /// (strerror) the first time a write fails, nil otherwise.
    @discardableResult
    func write(_ text: String) -> String? {
        guard !gone.load(ordering: .acquiring) else { return nil }
        let bytes = Array(text.utf8)
        var at = 0
        while at < bytes.count {
            let n = bytes[at...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n > 0 { at += n; continue }
            if n < 0 && errno == EINTR { continue }
            let why = n == 0 ? "nothing was written" : String(cString: strerror(errno))
            return gone.exchange(true, ordering: .acquiringAndReleasing) ? nil : why
        }
        return nil
    }
}
