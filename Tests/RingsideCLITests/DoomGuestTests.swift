import Foundation
import Machine
import TestSupport
import XCTest

/// DOOM (assets/guests/doom, built outside the repository by fetch-and-build.sh; CI builds it in
/// .ci/run): with clock=frames the attract-mode demo is the same picture at frame N in every
/// tracking mode and after a live migration, and really animates; a scripted new game walks and
/// turns as the keys say.
final class DoomGuestTests: XCTestCase {
    static let doom = BuiltGuest.named("doom")!

    func requireDoom() throws {
        guard FileManager.default.fileExists(atPath: "/dev/kvm") else { throw XCTSkip("needs /dev/kvm") }
        guard Self.doom.isBuilt else {
            throw XCTSkip("DOOM is not built in \(Self.doom.directory): run `\(Self.doom.buildCommand)` (CI does, in .ci/run)")
        }
        try DecodedPNG.requireDecoder()
    }

    func tempDir() throws -> String {
        let d = NSTemporaryDirectory() + "ringside-doom-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: d) }
        return d
    }

    /// Pictures at 320x200 (DOOM's own size: scale 1) of frames every/2*every/... up to `frames`.
    func run(_ extra: [String], frames: Int, every: Int, args: String = "clock=frames") throws -> (pictures: [Int: DecodedPNG], out: String) {
        let dir = try tempDir()
        let r = try runRingside(["run", "--guest", "doom", "--headless", "--guest-hz", "0", "--width", "320", "--height", "200",
                                 "--frames", "\(frames)", "--png", dir, "--png-every", "\(every)", "--args", args] + extra, timeout: 180)
        XCTAssertEqual(r.status, 0, r.err)
        var pictures: [Int: DecodedPNG] = [:]
        for f in stride(from: every, through: frames, by: every) {
            pictures[f] = try DecodedPNG(path: dir + String(format: "/frame-%06d.png", f))
        }
        return (pictures, r.out)
    }

    /// Pixels that differ between two pictures of the same size.
    func difference(_ a: DecodedPNG, _ b: DecodedPNG, rows: Range<Int>? = nil) -> Int {
        var n = 0
        for y in rows ?? 0..<a.height { for x in 0..<a.width where a.pixel(x: x, y: y) != b.pixel(x: x, y: y) { n += 1 } }
        return n
    }

    func testTheDemoIsTheSamePictureAtFrameNInEveryTrackingModeAndAnimates() throws {
        try requireDoom()
        // The title screen, the wipe into the first demo (about frame 220) and the demo itself.
        let frames = 450, every = 150
        var reference: [Int: DecodedPNG]?
        for mode in ["auto", "ring", "bitmap", "compare", "full"] {
            let (pictures, _) = try run(["--tracking", mode], frames: frames, every: every)
            guard let ref = reference else { reference = pictures; continue }
            for (f, picture) in pictures.sorted(by: { $0.key < $1.key }) {
                XCTAssertEqual(difference(ref[f]!, picture), 0, "frame \(f) with --tracking \(mode) differs from --tracking auto")
            }
        }
        let p = reference!
        // It animates: the demo's frames differ from the title and from each other, and are not blank.
        XCTAssertGreaterThan(difference(p[150]!, p[300]!), 320 * 200 / 4, "the demo moved on from the title screen")
        XCTAssertGreaterThan(difference(p[300]!, p[450]!, rows: 0..<168), 320 * 168 / 4, "the 3D view changes as the demo plays")
        let colours = Set((0..<200).flatMap { y in (0..<320).map { p[450]!.pixel(x: $0, y: y) } })
        XCTAssertGreaterThan(colours.count, 30, "a real picture, not a blank screen")
    }

    func testTheDemoIsTheSamePictureAfterALiveMigration() throws {
        try requireDoom()
        let dir = try tempDir()
        // Migrated from frame 240 (the demo plays); the WAD travels as RAM. Paced at 60 Hz, the
        // source has 8 s to hand over before frame 720, which the destination draws.
        let frames = 720, args = "clock=frames", memory = "64M"
        let reference = try XCTUnwrap(MigrationCheck.reference(guest: "doom", args: args, width: 320, height: 200, memory: memory,
                                                               frames: frames, dir: dir + "/ref"), "the unmigrated run wrote frame \(frames)")
        let dst = try RingsideProcess("receive", ["receive", "--listen", "127.0.0.1:0", "--headless", "--frames", "\(frames)", "--png", dir + "/dst"])
        let port = try XCTUnwrap(dst.listeningPort(), "the destination never listened\n\(dst.transcript)")
        let src = try RingsideProcess("run", ["run", "--guest", "doom", "--args", args, "--headless", "--width", "320", "--height", "200",
                                              "--memory", memory, "--migrate-to", "127.0.0.1:\(port)", "--migrate-at-frame", "240", "--verify-migration"])
        XCTAssertEqual(src.exitStatus(timeout: 90), 0, src.transcript)
        XCTAssertEqual(dst.exitStatus(timeout: 90), 0, dst.transcript)
        XCTAssertTrue(src.out.contains("migrated to 127.0.0.1:\(port): "), src.transcript)
        XCTAssertTrue(dst.out.contains(" pages verified"), dst.transcript)
        let png = FileManager.default.contents(atPath: dir + "/dst/" + MigrationCheck.pngName(frames))
        XCTAssertNotNil(png, "the destination wrote frame \(frames)\n\(dst.transcript)")
        XCTAssertTrue(png == reference, "the migrated DOOM's frame \(frames) is the unmigrated one's")
    }

    /// `where=N` lines: tic, frame, x, y, angle.
    func positions(_ out: String) -> [(tic: Int, frame: Int, x: Int, y: Int, angle: Int)] {
        let pattern = try! NSRegularExpression(pattern: #"doom: tic (\d+), frame (\d+): x (-?\d+) y (-?\d+) angle (\d+)"#)
        return out.split(separator: "\n").compactMap { line in
            let s = String(line)
            guard let m = pattern.firstMatch(in: s, range: NSRange(s.startIndex..., in: s)) else { return nil }
            let v = (1...5).map { Int(s[Range(m.range(at: $0), in: s)!])! }
            return (v[0], v[1], v[2], v[3], v[4])
        }
    }

    func testAScriptedNewGameWalksForwardAndTurnsRight() throws {
        try requireDoom()
        let dir = try tempDir()
        // Any key leaves the demo for the menu; Enter picks New Game, the episode, the skill.
        // Then Up (forward) is held for frames 200...229 and Right (turn) for 260...263.
        let script = """
            60 key down KEY_ENTER
            61 key up KEY_ENTER
            70 key down KEY_ENTER
            71 key up KEY_ENTER
            80 key down KEY_ENTER
            81 key up KEY_ENTER
            90 key down KEY_ENTER
            91 key up KEY_ENTER
            200 key down KEY_UP
            230 key up KEY_UP
            260 key down KEY_RIGHT
            264 key up KEY_RIGHT

            """
        try script.write(toFile: dir + "/keys.txt", atomically: true, encoding: .utf8)
        let (p, out) = try run(["--input-script", dir + "/keys.txt"], frames: 300, every: 10, args: "clock=frames where=1")
        let at = positions(out)
        func place(_ frame: Int) throws -> (x: Int, y: Int, angle: Int) {
            let last = try XCTUnwrap(at.last { $0.frame <= frame }, "no position reported by frame \(frame): \(out)")
            return (last.x, last.y, last.angle)
        }
        let start = try place(195), walked = try place(250), turned = try place(295)
        // Freedoom's E1M1 starts facing east (angle 0): forward is +x.
        XCTAssertEqual(start.angle, 0, "the level starts facing east")
        XCTAssertGreaterThan(walked.x - start.x, 100, "holding Up for 30 tics walks east: \(start) -> \(walked)")
        XCTAssertEqual(walked.y, start.y, "straight ahead, no sideways drift")
        XCTAssertEqual(walked.angle, start.angle, "walking does not turn")
        XCTAssertLessThanOrEqual(abs(turned.x - walked.x), 10, "turning in place barely moves (the walk's momentum fades)")
        XCTAssertEqual(turned.y, walked.y, "turning in place does not move sideways")
        XCTAssertTrue((300..<360).contains(turned.angle), "Right turns clockwise (the angle falls below 360): \(turned.angle)")
        // The pictures follow: standing still only the level's own animation changes the 3D view;
        // walking and turning change much more of it.
        let still = difference(p[180]!, p[190]!, rows: 0..<168), walking = difference(p[190]!, p[230]!, rows: 0..<168)
        XCTAssertGreaterThan(walking, 320 * 168 / 4, "walking changes the view")
        XCTAssertGreaterThan(walking, 4 * still, "walking changes far more than standing still (\(still) pixels in 10 frames)")
        XCTAssertGreaterThan(difference(p[250]!, p[290]!, rows: 0..<168), 320 * 168 / 4, "turning changes the view")
        // The 3D view turned right: what was on the right moved left. Find the shift that best
        // matches a band of rows before and after.
        XCTAssertTrue((-60 ... -8).contains(bestShift(p[250]!, p[290]!, rows: 20..<60)), "the scene slid left as the view turned right")
    }

    /// The horizontal shift s (pixels, -80...80) for which b(x + s) best matches a(x) over `rows`.
    func bestShift(_ a: DecodedPNG, _ b: DecodedPNG, rows: Range<Int>) -> Int {
        var best = (shift: 0, cost: Int.max)
        for s in -80...80 {
            var cost = 0
            for y in rows {
                for x in 90..<230 {
                    let p = a.pixel(x: x, y: y), q = b.pixel(x: x + s, y: y)
                    cost += abs(Int(p >> 16) - Int(q >> 16)) + abs(Int(p >> 8 & 255) - Int(q >> 8 & 255)) + abs(Int(p & 255) - Int(q & 255))
                }
            }
            if cost < best.cost { best = (s, cost) }
        }
        return best.shift
    }

    func testWithoutItsBuildRunAndGuestsSayWhatToRun() throws {
        let env = ProcessInfo.processInfo.environment.merging(["RINGSIDE_DOOM_DIR": NSTemporaryDirectory() + "no-doom-\(UUID().uuidString)"]) { $1 }
        let run = try runRingside(["run", "--guest", "doom", "--headless", "--frames", "1"], environment: env)
        XCTAssertNotEqual(run.status, 0)
        let lines = run.err.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, "one line: \(run.err)")
        XCTAssertTrue(run.err.contains("the doom guest is not built") && run.err.contains("bash assets/guests/doom/fetch-and-build.sh"), run.err)
        let guests = try runRingside(["guests"], environment: env)
        XCTAssertEqual(guests.status, 0, guests.err)
        XCTAssertTrue(guests.out.contains("[not built: run `bash assets/guests/doom/fetch-and-build.sh`]"), guests.out)
    }
}
