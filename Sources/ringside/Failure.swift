import Foundation

/// A user-facing failure: one line on stderr, a non-zero exit status. Only the CLI prints or exits.
struct Failure: Error, CustomStringConvertible {
    var description: String { message }
    let message: String
    let status: Int32
    init(_ message: String, status: Int32 = 1) {
        self.message = message
        self.status = status
    }
}

enum Console {
    static func error(_ line: String) {
        FileHandle.standardError.write(Data("ringside: \(line)\n".utf8))
    }
    static func out(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }
    /// A progress line on stderr, rewritten in place on a terminal; nil clears it.
    static func progress(_ line: String?) {
        guard isatty(STDERR_FILENO) != 0 else { return }
        FileHandle.standardError.write(Data(("\r\u{1B}[K" + (line ?? "")).utf8))
    }
}

/// Runs `body`; a `Failure` or any other error becomes one line on stderr and an exit status.
func runReportingFailures(_ body: () throws -> Int32) -> Never {
    do {
        exit(try body())
    } catch let f as Failure {
        Console.error(f.message)
        exit(f.status)
    } catch {
        Console.error("\(error)")
        exit(1)
    }
}
