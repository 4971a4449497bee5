@testable import Control
import XCTest

/// A word whose backslash or quote is followed by a combining mark (one Character in Swift)
/// is joined with that backslash or quote escaped, so the line reads back as the same word.
/// Found by the control-line fuzzer (Tests/FuzzCorpus/control-line/crash-*): `join` compared
/// Characters and left both unescaped; `ctl snapshot` with such a path sent another path.
final class ControlWordsCombiningMarkTests: XCTestCase {
    func testABackslashBeforeACombiningMarkIsEscaped() throws {
        let word = "/\\\u{05C4}"
        XCTAssertEqual(ControlWords.join(["snapshot", word]), "snapshot \"/\\\\\u{05C4}\"")
        XCTAssertEqual(try ControlWords.split(Array(ControlWords.join(["snapshot", word]).utf8)), ["snapshot", word])
    }

    func testAQuoteBeforeACombiningMarkIsEscaped() throws {
        let word = "/a\"\u{0301}b"
        XCTAssertEqual(try ControlWords.split(Array(ControlWords.join([word, "x"]).utf8)), [word, "x"])
    }

    func testTheSnapshotRequestFoundByTheFuzzerReadsBack() throws {
        let request = try ControlRequest.parse(line: Array("snapshot \"/\\\\\u{05C4}\"".utf8))
        XCTAssertEqual(try ControlRequest.parse(line: Array(request.line.utf8)), request)
    }
}
