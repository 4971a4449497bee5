import Foundation
import TestSupport
import XCTest

/// No number a user can type traps: each value outside an option's range is one stderr line
/// naming the option, the value as typed and the range, with status 1.
final class NumericOptionTests: XCTestCase {
    /// Runs `args` and checks the one line. The options after them make a run that a range
    /// check let through end quickly (and fail the test) instead of running until killed.
    func assertRefused(_ args: [String], range: String, subcommand: String = "run", tail: [String]? = nil,
                       file: StaticString = #filePath, line: UInt = #line) throws {
        let quick = tail ?? ["--headless", "--guest", "pattern", "--guest-hz", "0", "--frames", "2", "--width", "64", "--height", "64"]
        var rest = quick
        // Do not give an option twice: the value under test wins.
        for name in args where name.hasPrefix("--") {
            if let i = rest.firstIndex(of: name) { rest.removeSubrange(i...(i + 1)) }
        }
        let r = try runRingside([subcommand] + args + rest, timeout: 30)
        let what = "\(args.joined(separator: " "))"
        XCTAssertEqual(r.status, 1, "\(what): status 1 (\(r.err))", file: file, line: line)
        XCTAssertEqual(r.err.split(separator: "\n").count, 1, "\(what): one line, got \(r.err)", file: file, line: line)
        XCTAssertTrue(r.err.hasPrefix("ringside: \(args[0]) "), "\(what): names the option first: \(r.err)", file: file, line: line)
        XCTAssertTrue(r.err.contains(args[1]), "\(what): names the value as typed: \(r.err)", file: file, line: line)
        XCTAssertTrue(r.err.contains("use \(range)"), "\(what): names the range '\(range)': \(r.err)", file: file, line: line)
        XCTAssertFalse(r.err.contains("Fatal error") || r.err.contains("Backtracing") || r.err.contains("crashed"), r.err, file: file, line: line)
    }

    func testRunTimesAndRatesOutOfRange() throws {
        for v in ["1e20", "inf", "nan", "-1", "0", "0.0001"] { try assertRefused(["--seconds", v], range: "0.001...31536000 seconds") }
        for v in ["1e-20", "0.99", "1e-9", "0", "1001", "-inf"] { try assertRefused(["--refresh", v], range: "1...1000 refreshes per second") }
        for v in ["1e-12", "0.5", "-1", "100001", "nan"] { try assertRefused(["--guest-hz", v], range: "0 (free-run) or 1...100000") }
        for v in ["9223372036854775807", "0", "3600001", "99999999999999999999"] {
            try assertRefused(["--migration-rounds", v], range: "1...3600000 milliseconds")
        }
    }

    func testRunCountsAndSizesOutOfRange() throws {
        for v in ["99999999999999999999", "0", "-1", "1000000001"] { try assertRefused(["--frames", v], range: "1...1000000000") }
        for v in ["99999999999999999999", "9223372036854775807", "0"] {
            try assertRefused(["--png-every", v], range: "1...1000000000", tail: ["--headless", "--guest", "pattern", "--frames", "2", "--png", NSTemporaryDirectory()])
        }
        for v in ["99999999999999999999", "9223372036854775807", "131072", "128"] {
            try assertRefused(["--ring-entries", v], range: "a power of two from 256 to 65536")
        }
        try assertRefused(["--ring-entries", "1000"], range: "a power of two from 256 to 65536")
        for v in ["1e9", "1000000000", "99999999999999999999", "63"] { try assertRefused(["--width", v], range: "64...7680") }
        for v in ["1e9", "4321"] { try assertRefused(["--height", v], range: "64...4320") }
        for v in ["99999999999999999999", "17", "0", "1.5"] { try assertRefused(["--cpus", v], range: "1...16") }
        try assertRefused(["--pitch", "99999999999999999999"], range: "4...96256")
    }

    func testANumberThatIsNotANumberSaysSo() throws {
        let r = try runRingside(["run", "--width", "1e9"])
        XCTAssertEqual(r.err, "ringside: --width '1e9' is not a whole number: use 64...7680 (see 'ringside run --help')\n")
        let s = try runRingside(["run", "--seconds", "soon"])
        XCTAssertEqual(s.err, "ringside: --seconds 'soon' is not a number: use 0.001...31536000 seconds (see 'ringside run --help')\n")
    }

    func testBenchNumbersOutOfRange() throws {
        // Should a check be missing, one tiny cell runs instead.
        let tail = ["--guests", "idle", "--resolutions", "64x64", "--modes", "full", "--ram", "8M", "--frames", "2", "--warmup", "0",
                    "--free-run-seconds", "0.01", "--rounds", "1"]
        for v in ["1e-12", "0.5", "nan", "-1"] { try assertRefused(["--refresh-hz", v], range: "0 (back to back) or 1...100000", subcommand: "bench", tail: tail) }
        for v in ["99999999999999999999", "0", "100001"] { try assertRefused(["--frames", v], range: "1...100000", subcommand: "bench", tail: tail) }
        for v in ["-1", "10001"] { try assertRefused(["--warmup", v], range: "0...10000", subcommand: "bench", tail: tail) }
        for v in ["1e20", "0", "inf"] { try assertRefused(["--free-run-seconds", v], range: "0.01...600 seconds", subcommand: "bench", tail: tail) }
        for v in ["0", "99999999999999999999"] { try assertRefused(["--rounds", v], range: "1...100000", subcommand: "bench", tail: tail) }
        try assertRefused(["--cpus", "9223372036854775807"], range: "1...16", subcommand: "bench", tail: tail)
        try assertRefused(["--ring-entries", "9223372036854775807"], range: "a power of two from 256 to 65536", subcommand: "bench", tail: tail)
        let r = try runRingside(["bench"] + tail.dropLast(2) + ["--rounds", "3"])
        XCTAssertEqual(r.err, "ringside: --rounds 3 is out of range: use 1...2 (the frames per cell)\n")
    }
}
