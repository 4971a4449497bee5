@testable import Control
import XCTest

/// The request line as docs/control.md defines it: every command, every refusal's line.
final class ControlRequestTests: XCTestCase {
    private func parse(_ line: String) throws -> ControlRequest { try ControlRequest.parse(line: Array(line.utf8)) }

    private func refusal(_ line: String) -> String? {
        do { _ = try parse(line); return nil } catch let e as ControlRequestError { return e.description } catch { return "\(error)" }
    }

    func testEveryCommandParses() throws {
        XCTAssertEqual(try parse("status"), .status)
        XCTAssertEqual(try parse("  pause\t"), .pause)
        XCTAssertEqual(try parse("resume"), .resume)
        XCTAssertEqual(try parse("cancel"), .cancel)
        XCTAssertEqual(try parse("quit"), .quit)
        XCTAssertEqual(try parse("snapshot /tmp/a.snap"), .snapshot(file: "/tmp/a.snap", incremental: nil))
        XCTAssertEqual(try parse(#"snapshot "/tmp/my snap" --incremental /tmp/a.snap"#),
                       .snapshot(file: "/tmp/my snap", incremental: "/tmp/a.snap"))
        var m = MigrateRequest(host: "127.0.0.1", port: 7777)
        XCTAssertEqual(try parse("migrate 127.0.0.1:7777"), .migrate(m))
        m.maxDowntimeMS = 30
        m.maxBandwidth = 128 << 20
        m.maxRounds = 5
        m.verify = true
        XCTAssertEqual(try parse("migrate 127.0.0.1:7777 --max-downtime 30 --max-bandwidth 128M --max-rounds 5 --verify-migration"), .migrate(m))
        XCTAssertEqual(try parse("migrate [::1]:7777"), .migrate(MigrateRequest(host: "::1", port: 7777)))
    }

    func testQuotedWordsTakeEscapes() throws {
        XCTAssertEqual(try ControlWords.split(Array(#"a "b c" "d\"e" "f\\g" """#.utf8)), ["a", "b c", "d\"e", "f\\g", ""])
        XCTAssertEqual(refusal(#"snapshot "/tmp/a\nb""#), #"\n in a quoted word: only \" and \\ are escapes"#)
        XCTAssertEqual(refusal(#"snapshot "/tmp/a"#), "a quoted word is not closed")
    }

    func testEachMistakeHasItsLine() {
        let cases: [(String, String)] = [
            ("", "empty request"),
            ("   ", "empty request"),
            ("stats", "unknown command 'stats'"),
            ("status now", "status does not take 'now'"),
            ("snapshot", "snapshot needs FILE"),
            ("snapshot a.snap", "FILE 'a.snap': give an absolute path"),
            ("snapshot /tmp/b --incremental", "--incremental needs BASE"),
            ("snapshot /tmp/b --incremental b", "BASE 'b': give an absolute path"),
            ("snapshot /tmp/b --incremental /tmp/b", "the base must be another file"),
            ("snapshot /tmp/b --incremental /tmp/a --incremental /tmp/c", "--incremental is given twice"),
            ("snapshot /tmp/b --full", "snapshot does not take '--full'"),
            ("migrate", "migrate needs HOST:PORT"),
            ("migrate 7777", "use HOST:PORT"),
            ("migrate :7777", "name a host"),
            ("migrate host:0", "the port must be 1...65535"),
            ("migrate host:65536", "the port must be 1...65535"),
            ("migrate host:99999999999999999999999", "the port must be 1...65535"),
            ("migrate h:1 --max-downtime", "--max-downtime needs a value"),
            ("migrate h:1 --max-downtime 0", "use 1...60000 milliseconds"),
            ("migrate h:1 --max-downtime nan", "use 1...60000 milliseconds"),
            ("migrate h:1 --max-downtime inf", "use 1...60000 milliseconds"),
            ("migrate h:1 --max-bandwidth 10K", "at least 1M"),
            ("migrate h:1 --max-bandwidth 99999999999999999999G", "at least 1M"),
            ("migrate h:1 --max-rounds 1001", "use 1...1000"),
            ("migrate h:1 --max-rounds 3 --max-rounds 4", "--max-rounds is given twice"),
            ("migrate h:1 --tls", "migrate does not take '--tls'"),
        ]
        for (line, expected) in cases {
            guard let got = refusal(line) else { XCTFail("'\(line)' was accepted"); continue }
            XCTAssertTrue(got.contains(expected), "'\(line)': \(got)")
            XCTAssertFalse(got.contains("\n"), "'\(line)': more than one line")
        }
    }

    func testBytesThatAreNotTextAreRefused() {
        XCTAssertEqual(try? ControlWords.split([0xFF, 0xFE]), nil)
        XCTAssertThrowsError(try ControlRequest.parse(line: [0x73, 0x00])) { XCTAssertEqual($0 as? ControlRequestError, .controlCharacter(0)) }
        XCTAssertThrowsError(try ControlRequest.parse(line: [UInt8](repeating: 0x61, count: ControlWords.maxLineBytes + 1))) {
            XCTAssertEqual($0 as? ControlRequestError, .tooLong(ControlWords.maxLineBytes + 1))
        }
    }

    func testALineReadsBackAsTheSameRequest() throws {
        var m = MigrateRequest(host: "fe80::1", port: 9)
        m.maxDowntimeMS = 12.5
        m.maxRounds = 1000
        let requests: [ControlRequest] = [
            .status, .pause, .resume, .cancel, .quit, .migrate(m), .migrate(MigrateRequest(host: "a.example", port: 65535)),
            .snapshot(file: "/tmp/a b\"c\\d", incremental: nil), .snapshot(file: "/x", incremental: "/tmp/\u{e9}t\u{e9} base"),
        ]
        for r in requests { XCTAssertEqual(try parse(r.line), r, r.line) }
    }

    func testAnswersAreOneJSONLineThatReadsBack() throws {
        var a = ControlAnswer(ok: true, command: "status")
        a.status = StatusAnswer(state: "running")
        a.status?.framesPerSecond = .infinity
        a.status?.imagePath = "/a/b\nc"
        XCTAssertFalse(a.line.contains("\n"))
        XCTAssertEqual(ControlAnswer.parse(a.line), a)
        let failure = ControlAnswer.failure("pause", "the guest has stopped")
        XCTAssertEqual(failure.line, #"{"command":"pause","error":"the guest has stopped","ok":false}"#)
    }
}
