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
