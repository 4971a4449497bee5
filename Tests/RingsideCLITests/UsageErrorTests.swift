import Foundation
import TestSupport
import XCTest

/// Command-line mistakes in every subcommand are one line, `ringside: <what> (see 'ringside
/// <sub> --help')`, and status 1, as every other bad input; --help is unchanged.
final class UsageErrorTests: XCTestCase {
    func assertUsageError(_ args: [String], _ expected: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try runRingside(args, timeout: 30)
        XCTAssertEqual(r.status, 1, "\(args)", file: file, line: line)
        XCTAssertEqual(r.err, "ringside: \(expected)\n", "\(args)", file: file, line: line)
        XCTAssertEqual(r.out, "", file: file, line: line)
    }

    func testRunUsageErrors() throws {
        try assertUsageError(["run", "--cpus", "abc"], "--cpus 'abc' is not a whole number: use 1...16 (see 'ringside run --help')")
        try assertUsageError(["run", "--frames", "-1"], "--frames -1 is out of range: use 1...1000000000 (see 'ringside run --help')")
        try assertUsageError(["run", "--bogus"], "unknown option '--bogus'. Did you mean '--args'? (see 'ringside run --help')")
        try assertUsageError(["run", "--headless", "--cpus"], "missing value for --cpus (see 'ringside run --help')")
        try assertUsageError(["run", "--guest"], "missing value for --guest (see 'ringside run --help')")
        try assertUsageError(["run", "extra"], "unexpected argument 'extra' (see 'ringside run --help')")
        // `run` is the default subcommand.
        try assertUsageError(["--cpus", "abc"], "--cpus 'abc' is not a whole number: use 1...16 (see 'ringside run --help')")
    }

    func testOtherSubcommandsUsageErrors() throws {
        try assertUsageError(["bench", "--frames", "x"], "--frames 'x' is not a whole number: use 1...100000 (see 'ringside bench --help')")
        try assertUsageError(["bench", "--json"], "missing value for --json (see 'ringside bench --help')")
        try assertUsageError(["info", "--bogus"], "unknown option '--bogus' (see 'ringside info --help')")
        try assertUsageError(["info", "--device"], "missing value for --device (see 'ringside info --help')")
        try assertUsageError(["guests", "extra"], "unexpected argument 'extra' (see 'ringside guests --help')")
        try assertUsageError(["nosuch"], "unexpected argument 'nosuch' (see 'ringside --help')")
    }

    func testHelpIsUnchangedAndSucceeds() throws {
        for (args, usage) in [(["--help"], "USAGE: ringside <subcommand>"), (["run", "--help"], "USAGE: ringside run <options>"),
                              (["help", "bench"], "USAGE: ringside bench"), (["info", "-h"], "USAGE: ringside info")] {
            let r = try runRingside(args)
            XCTAssertEqual(r.status, 0, "\(args)")
            XCTAssertTrue(r.out.contains(usage), "\(args): \(r.out)")
            XCTAssertEqual(r.err, "")
        }
    }
}
