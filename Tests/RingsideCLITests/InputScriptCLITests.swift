import Foundation
import TestSupport
import XCTest

/// `ringside run --input-script`: bad scripts are refused before boot in one line; a good
/// one reaches the guest's queue at the frames it names; the same script gives the same PNG.
final class InputScriptCLITests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "ringside-input-cli-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    func script(_ text: String, name: String = "script.txt") throws -> String {
        let path = dir + "/" + name
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func testBadScriptsAreRefusedBeforeBootWithFileLineAndWhatWasExpected() throws {
        let cases: [(String, String)] = [
            ("10 key down KEY_A\n# fine\n12 key down KEY_NOPE\n", ":3: unknown key name 'KEY_NOPE': expected a name from linux/input-event-codes.h"),
            ("-1 key down KEY_A\n", ":1: frame -1 is negative: frames count from 0"),
            ("5 pointer 100\n", ":1: expected pointer X Y, e.g. 'pointer 400 300'"),
            ("9 key down KEY_A\n8 key up KEY_A\n", ":2: frame 8 comes after frame 9 (line 1): put the lines in frame order"),
        ]
        for (text, expected) in cases {
            let path = try script(text)
            // No /dev/kvm is needed: the script is checked before anything boots.
            let r = try runRingside(["run", "--guest", "idle", "--headless", "--frames", "5", "--input-script", path])
            XCTAssertEqual(r.status, 1, r.out)
            XCTAssertEqual(r.err.split(separator: "\n").count, 1, "one line: \(r.err)")
            XCTAssertTrue(r.err.hasPrefix("ringside: \(path)\(expected)"), r.err)
            XCTAssertFalse(r.out.contains("ringside: idle at"), "nothing booted: \(r.out)")
        }
        let missing = try runRingside(["run", "--headless", "--frames", "5", "--input-script", dir + "/nope.txt"])
        XCTAssertEqual(missing.status, 1)
        XCTAssertEqual(missing.err, "ringside: \(dir)/nope.txt: cannot read the input script: No such file or directory\n")
    }

    func testAScriptReachesTheQueueAtTheFramesItNames() throws {
        try requireKVMDevice()
        let path = try script("""
            1 key down KEY_A
            4 pointer 100 50
            4 button down left
            7 type Q
            30 key up KEY_A
            """)
        let r = try runRingside(["run", "--guest", "idle", "--headless", "--guest-hz", "0", "--frames", "20", "--width", "320", "--height", "200",
                                 "--input-script", path, "--log-input"])
        XCTAssertEqual(r.status, 0, r.err)
        let logged = r.out.split(separator: "\n").filter { $0.hasPrefix("input: frame") }
        XCTAssertEqual(logged, [
            "input: frame 1: key down KEY_A",
            "input: frame 4: pointer 100 50",
            "input: frame 4: button down left",
            "input: frame 7: key down KEY_LEFTSHIFT",
            "input: frame 7: key down KEY_Q",
            "input: frame 7: key up KEY_Q",
            "input: frame 7: key up KEY_LEFTSHIFT",
        ], r.out)
        XCTAssertTrue(r.out.contains("input: 7 events delivered to the guest's queue, 0 waiting for room, 0 pointer motions coalesced"), r.out)
        XCTAssertTrue(r.err.contains("warning: --input-script \(path): 1 event is for frames after --frames 20 and will not reach the guest"), r.err)
    }

    func testTheSameScriptGivesTheSamePictures() throws {
        try requireKVMDevice()
        var text = ""
        for f in stride(from: 2, through: 60, by: 3) {
            text += "\(f) pointer \(f * 4) \(f * 2)\n\(f) button \(f % 2 == 0 ? "down" : "up") left\n"
            if f == 41 { text += "41 type hello world\\n\n" }
        }
        let path = try script(text)
        var files: [[String: Data]] = []
        for run in 0..<2 {
            let out = dir + "/png\(run)"
            let r = try runRingside(["run", "--guest", "desktop", "--headless", "--frames", "60", "--png", out, "--png-every", "15",
                                     "--width", "320", "--height", "200", "--input-script", path])
            XCTAssertEqual(r.status, 0, r.err)
            var pictures: [String: Data] = [:]
            for name in try FileManager.default.contentsOfDirectory(atPath: out) { pictures[name] = try Data(contentsOf: URL(fileURLWithPath: out + "/" + name)) }
            XCTAssertEqual(pictures.count, 4, "frames 15, 30, 45, 60")
            files.append(pictures)
        }
        XCTAssertEqual(files[0], files[1], "the same script gives the same PNG files")
    }
}
