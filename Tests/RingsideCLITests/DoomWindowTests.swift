import Foundation
import Machine
import TestSupport
import XCTest

/// DOOM played from the real window on a private Xvfb, with real X key events (xdotool,
/// XTEST): Enter through the menus starts a new game, the player stands at the start facing
/// east; holding Up walks east (the guest's `where=` lines) and the 3D view on screen changes
/// far more than standing still changes it.
final class DoomWindowTests: XCTestCase {
    override class func tearDown() { XvfbScreen.stop() }

    typealias Place = (tic: Int, x: Int, y: Int, angle: Int)

    /// `where=N` lines in `text`: the player's place.
    func places(_ text: String) -> [Place] {
        let pattern = try! NSRegularExpression(pattern: #"doom: tic (\d+), frame \d+: x (-?\d+) y (-?\d+) angle (\d+)"#)
        return text.split(separator: "\n").compactMap { line in
            let s = String(line)
            guard let m = pattern.firstMatch(in: s, range: NSRange(s.startIndex..., in: s)) else { return nil }
            let v = (1...4).map { Int(s[Range(m.range(at: $0), in: s)!])! }
            return (v[0], v[1], v[2], v[3])
        }
    }

    /// Waits up to `timeout` s for the places the run printed after `mark` (a log length) to
    /// satisfy `done`; returns them, or nil.
    func waitForPlaces(_ run: WindowRun, after mark: Int, timeout: Double, until done: ([Place]) -> Bool) -> [Place]? {
        let end = Date(timeIntervalSinceNow: timeout)
        repeat {
            let seen = places(String(run.log().dropFirst(mark)))
            if done(seen) { return seen }
            Thread.sleep(forTimeInterval: 0.05)
        } while Date() < end
        return nil
    }

    /// The last `n` places are the same place: the player stands.
    func standing(_ n: Int) -> ([Place]) -> Bool {
        { p in p.count >= n && Set(p.suffix(n).map { "\($0.x) \($0.y) \($0.angle)" }).count == 1 }
    }

    /// Pixels that differ between two screenshots inside the rectangle.
    func difference(_ a: Screenshot, _ b: Screenshot, x: Int, y: Int, width: Int, height: Int) -> Int {
        var n = 0
        for row in y..<(y + height) { for col in x..<(x + width) where a.pixel(x: col, y: row) != b.pixel(x: col, y: row) { n += 1 } }
        return n
    }

    func testKeysInTheWindowStartANewGameAndUpWalksForward() throws {
        let doom = BuiltGuest.named("doom")!
        guard doom.isBuilt else { throw XCTSkip("DOOM is not built in \(doom.directory): run `\(doom.buildCommand)` (CI does, in .ci/run)") }
        // 640x400: DOOM's picture at scale 2 fills the window; its 3D view is the top 336 rows.
        // Default pacing and clock (35 tics/s); the place every 5 tics.
        let run = try WindowRun(["--guest", "doom", "--width", "640", "--height", "400", "--args", "where=5"], title: "Ringside: doom", seconds: 240)
        // The engine is up and reading keys once the first demo prints places (about 6 s in).
        XCTAssertNotNil(waitForPlaces(run, after: 0, timeout: 90) { !$0.isEmpty }, "the demo never started\n\(run.log())")
        let geometry = try run.xdo(["getwindowgeometry", run.id])
        let position = geometry.split(separator: "\n").first { $0.contains("Position:") }?.split(separator: " ").dropFirst().first?.split(separator: ",")
        let wx = Int(position?.first ?? "") ?? 0, wy = Int(position?.last ?? "") ?? 0
        XCTAssertEqual(try run.windowSize().0, 640, geometry)

        // Any key opens the menu over the demo; Enter picks New Game, the episode, the skill.
        let mark = run.log().count
        try run.xdo(["key", "--delay", "250", "Return", "Return", "Return", "Return"])
        // The new game's player stands at E1M1's start, facing east (angle 0); the demo's moves.
        let started = try XCTUnwrap(waitForPlaces(run, after: mark, timeout: 60) { standing(6)($0) && $0.last!.angle == 0 },
                                    "no new game with the player standing facing east\n\(run.log().suffix(3000))")
        let start = started.last!
        // The window has settled on the standing view (the wipe into the level is over and the
        // display has caught up): two captures 5 tics apart, the player still standing, differ
        // by less than a tenth of the 3D view (the level's own animation).
        var still0 = try run.screen.capture(), still1 = still0
        var settled = false
        for _ in 0..<60 where !settled {
            let mark = run.log().count
            XCTAssertNotNil(waitForPlaces(run, after: mark, timeout: 30) { !$0.isEmpty }, "no more places\n\(run.log().suffix(2000))")
            still1 = try run.screen.capture()
            settled = difference(still0, still1, x: wx, y: wy, width: 640, height: 336) < 640 * 336 / 10
            if !settled { still0 = still1 }
        }
        XCTAssertTrue(settled, "the window never settled on the standing view")
        let here = try XCTUnwrap(places(run.log()).last)
        XCTAssertTrue(here.x == start.x && here.y == start.y && here.angle == start.angle, "the player kept standing: \(start) -> \(here)")

        // Hold Up until the player has walked 100 units, then let go and wait until he stands.
        let walkMark = run.log().count
        try run.xdo(["keydown", "Up"])
        let walked = waitForPlaces(run, after: walkMark, timeout: 30) { $0.contains { $0.x - start.x > 100 } }
        try run.xdo(["keyup", "Up"])
        XCTAssertNotNil(walked, "holding Up did not walk 100 units east of \(start)\n\(run.log().suffix(2000))")
        let stopMark = run.log().count
        let stopped = try XCTUnwrap(waitForPlaces(run, after: stopMark, timeout: 30, until: standing(3)), "the player never stopped\n\(run.log().suffix(2000))")
        let end = stopped.last!
        let moved = try run.screen.capture()
        XCTAssertGreaterThan(end.x - start.x, 100, "walked east: \(start) -> \(end)")
        XCTAssertEqual(end.y, start.y, "straight ahead, no sideways drift")
        XCTAssertEqual(end.angle, start.angle, "walking does not turn")

        let still = difference(still0, still1, x: wx, y: wy, width: 640, height: 336)
        let walking = difference(still1, moved, x: wx, y: wy, width: 640, height: 336)
        print("DOOM window: stood at \(start), walked to \(end); 3D view pixels changed standing \(still), walking \(walking) of \(640 * 336)")
        XCTAssertGreaterThan(walking, 640 * 336 / 4, "walking changed the 3D view on screen (\(walking) pixels)")
        XCTAssertGreaterThan(walking, 4 * still, "walking changed far more than standing still (\(still) pixels)")
        let status = try run.quit()
        XCTAssertEqual(status, 0, "Ctrl+Alt+Q ended the run: " + String(run.log().suffix(3000)))
    }
}
