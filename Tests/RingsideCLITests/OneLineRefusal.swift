import TestSupport
import XCTest

/// Runs `ringside args` expecting a refusal: exit status 1 and exactly one line on stderr that
/// contains one of `needles` (no trap). Returns the run for further checks, nil when it could
/// not be started. The shape every bad-option and bad-file case shares.
@discardableResult
func expectRefusedInOneLine(_ args: [String], naming needles: String..., timeout: Double = 120,
                            file: StaticString = #filePath, line: UInt = #line) throws -> (status: Int32, out: String, err: String) {
    let r = try runRingside(args, timeout: timeout, file: file, line: line)
    XCTAssertEqual(r.status, 1, "\(args): \(r.err)", file: file, line: line)
    if let p = MigrationCheck.oneLineProblem(r.err, containing: needles) { XCTFail("\(args): \(p)", file: file, line: line) }
    return r
}
