import Foundation
import Machine
import TestSupport
import XCTest

/// `ringside ctl PATH snapshot FILE [--incremental BASE]` and `ringside run --restore`, as real
/// processes: a guest snapshotted while paused at frame N and restored draws frame N+k byte
/// for byte as a run that was never snapshotted; damaged and mismatched files get one line.
final class SnapshotCLITests: XCTestCase {
    override func setUpWithError() throws { try MigrationCheck.requireKVMDevice() }

    /// A guest and the options that boot it the same way in the reference run.
    private struct Guest {
        let name: String
        var args = ""
        var options: [String] { ["--guest", name, "--args", args, "--width", "320", "--height", "200", "--memory", name == "doom" ? "64M" : "16M", "--guest-hz", "0"] }
    }

    /// Runs `guest` with a control socket, pauses it after `frames` frames, snapshots it into
    /// `dir/full.snap` (and, with `incremental`, runs on and adds `dir/inc.snap`), quits, and
    /// returns the frame the last snapshot was taken at.
    private func snapshot(_ guest: Guest, dir: String, incremental: Bool) throws -> Int {
        let socket = dir + "/s"
        let run = try RingsideProcess("run", ["run", "--headless", "--control", socket] + guest.options)
        try Ctl.waitForGuest(socket, run, timeout: 120)
        try Ctl.waitForStatus(socket, timeout: 120, "\(guest.name) draws 30 frames") { ($0.frames.first ?? 0) >= 30 }
        XCTAssertTrue(try Ctl.json(socket, ["pause"]).ok)
        var frame = try Ctl.json(socket, ["status"]).frames.first ?? 0
        let full = try Ctl.json(socket, ["snapshot", dir + "/full.snap"])
        XCTAssertTrue(full.ok, "\(full.json) \(full.err)")
        XCTAssertEqual((full.json["snapshot"] as? [String: Any])?["kind"] as? String, "full")
        if incremental {
            XCTAssertTrue(try Ctl.json(socket, ["resume"]).ok)
            try Ctl.waitForStatus(socket, timeout: 120, "\(guest.name) draws 20 more frames") { ($0.frames.first ?? 0) >= frame + 20 }
            XCTAssertTrue(try Ctl.json(socket, ["pause"]).ok)
            frame = try Ctl.json(socket, ["status"]).frames.first ?? 0
            // Relative paths are the caller's: ctl makes them absolute.
            let inc = try runRingside(["ctl", socket, "snapshot", dir + "/inc.snap", "--incremental", dir + "/full.snap"])
            XCTAssertEqual(inc.status, 0, "[\(inc.err)] [\(inc.out)] \(run.transcript)")
            XCTAssertTrue(inc.out.hasPrefix("wrote incremental snapshot \(dir)/inc.snap"), inc.out)
        }
        XCTAssertEqual(try runRingside(["ctl", socket, "quit"]).status, 0)
        XCTAssertEqual(run.exitStatus(timeout: 60), 0, run.transcript)
        return frame
    }

    /// Restores `files` to frame `frame + 5` and compares its PNG with a run never snapshotted.
    private func assertSameNextFrames(_ guest: Guest, files: [String], frame: Int, dir: String) throws {
        let target = frame + 5
        let restored = dir + "/restored", reference = dir + "/reference"
        let r = try runRingside(["run", "--headless", "--frames", "\(target)", "--png", restored] + files.flatMap { ["--restore", $0] }, timeout: 180)
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out.hasPrefix("ringside: restored \(guest.name) from "), r.out)
        let plain = try runRingside(["run", "--headless", "--frames", "\(target)", "--png", reference] + guest.options, timeout: 180)
        XCTAssertEqual(plain.status, 0, plain.err)
        let a = FileManager.default.contents(atPath: restored + "/" + MigrationCheck.pngName(target))
        let b = FileManager.default.contents(atPath: reference + "/" + MigrationCheck.pngName(target))
        XCTAssertNotNil(a, "the restored run wrote no frame \(target): \(r.out)")
        XCTAssertEqual(a, b, "\(guest.name): frame \(target) after the restore differs from a run that was never snapshotted")
    }

    func testRestoredGuestsDrawTheSameNextFrames() throws {
        var guests = [Guest(name: "pattern"), Guest(name: "desktop"), Guest(name: "plasma")]
        if let doom = BuiltGuest.named("doom"), doom.isBuilt { guests.append(Guest(name: "doom", args: "clock=frames")) }
        for guest in guests {
            let dir = try Ctl.tempDir(self)
            let frame = try snapshot(guest, dir: dir, incremental: false)
            try assertSameNextFrames(guest, files: [dir + "/full.snap"], frame: frame, dir: dir)
        }
    }

    func testAnIncrementalChainRestoresToTheSameNextFrames() throws {
        let guest = Guest(name: "desktop")
        let dir = try Ctl.tempDir(self)
        let frame = try snapshot(guest, dir: dir, incremental: true)
        let full = (try FileManager.default.attributesOfItem(atPath: dir + "/full.snap")[.size] as? NSNumber)?.intValue ?? 0
        let inc = (try FileManager.default.attributesOfItem(atPath: dir + "/inc.snap")[.size] as? NSNumber)?.intValue ?? 0
        XCTAssertLessThan(inc, full, "the incremental holds only what 20 frames changed")
        try assertSameNextFrames(guest, files: [dir + "/full.snap", dir + "/inc.snap"], frame: frame, dir: dir)
        // In the wrong order, or without its base: one line each, nothing runs.
        for files in [[dir + "/inc.snap"], [dir + "/inc.snap", dir + "/full.snap"]] {
            try expectRefusedInOneLine(["run", "--headless", "--frames", "\(frame + 5)"] + files.flatMap { ["--restore", $0] },
                                       naming: "is an incremental snapshot")
        }
    }

    func testDamagedSnapshotsAndWrongOptionsGetOneLine() throws {
        let dir = try Ctl.tempDir(self)
        let frame = try snapshot(Guest(name: "pattern"), dir: dir, incremental: false)
        let whole = try XCTUnwrap(FileManager.default.contents(atPath: dir + "/full.snap"))
        var damaged: [(String, Data, String)] = []
        for cut in [0, 30, 64, 100, whole.count / 2, whole.count - 1] {
            damaged.append(("cut-\(cut)", whole.prefix(cut), cut == 0 ? "truncated" : cut < 64 ? "truncated" : "truncated"))
        }
        for at in [10, 60, 70, 200, whole.count / 3, whole.count - 20, whole.count - 3] {
            var d = whole
            d[at] ^= 0x10
            damaged.append(("flip-\(at)", d, "damaged"))
        }
        damaged.append(("empty", Data(), "truncated"))
        damaged.append(("text", Data(String(repeating: "not a snapshot\n", count: 10).utf8), "not a Ringside snapshot"))
        for (name, bytes, expected) in damaged {
            let path = dir + "/\(name).snap"
            FileManager.default.createFile(atPath: path, contents: bytes)
            try expectRefusedInOneLine(["run", "--headless", "--frames", "\(frame + 5)", "--restore", path],
                                       naming: "\(path): \(expected)", "\(path): damaged")
        }
        let cases: [([String], String)] = [
            (["--restore", dir + "/full.snap", "--guest", "desktop"], "--guest cannot be used with --restore"),
            (["--restore", dir + "/full.snap", "--memory=64M"], "--memory cannot be used with --restore"),
            (["--restore", dir + "/full.snap", "--frames", "\(frame)"], "--frames \(frame) is not after the snapshot's frame \(frame)"),
            (["--restore", dir + "/missing.snap"], "\(dir)/missing.snap: cannot open: No such file or directory"),
            (["--restore", dir], "\(dir): not a regular file"),
        ]
        for (args, expected) in cases { try expectRefusedInOneLine(["run", "--headless"] + args, naming: expected) }
    }
}
