import Display
import KVM
import Machine
import TestSupport
import Tracking
import XCTest

/// Guest mode sets (DISPI) while a collector syncs concurrently: nothing is lost across them.
final class ModeSetTrackingTests: XCTestCase {
    /// Small modes, one every 2 frames, over and over; the largest one sizes the slot.
    static let schedule = "modes=333x211@1,400x300@3,200x100@5,97x64@7,512x384@9,333x211@11 repeat=12"

    func session(cpus: Int, mode: TrackingMode, ringEntries: Int, migration: Bool) throws -> TrackingSession {
        let system = try requireKVM()
        let caps = try HostCapabilities(system: system)
        if caps.usableVCPUs < cpus { throw XCTSkip("host KVM allows \(caps.usableVCPUs) vCPUs; this case needs \(cpus)") }
        if mode == .ring && TrackingPlan.ringEntryRange(caps) == nil { throw XCTSkip("host KVM has no dirty ring") }
        var config = try testConfig("modes", args: Self.schedule, width: 333, height: 211, cpus: cpus)
        config.maxMode = (512, 384)
        let plan = try TrackingPlan.make(mode: mode, ringEntries: ringEntries, caps: caps, migration: migration)
        return try TrackingSession(system: system, config: config, plan: plan, tile: TileSize(width: 64, height: 16), migration: migration)
    }

    /// At random pauses the migration mirror equals guest RAM (the boot info rewrites are
    /// listed), the shadow equals the framebuffer in the mode in force, and a display sink was
    /// told of every changed tile (of every tile, after a mode set). Smallest ring.
    func noLossAcrossModeSets(cpus: Int) throws {
        let caps = try HostCapabilities(system: try requireKVM())
        let smallest = TrackingPlan.ringEntryRange(caps)?.lowerBound ?? 256
        for mode in [TrackingMode.ring, .bitmap, .compare] {
            let migration = mode.hasPageList
            let s = try session(cpus: cpus, mode: mode, ringEntries: smallest, migration: migration)
            let checker = MirrorChecker(session: s)
            // Past the 300 pauses, as many more as the guest needs (a loaded host draws fewer
            // frames between two pauses) to show what the assertions below count.
            checker.checkAtRandomPauses(300, listed: migration, label: "\(mode), \(cpus) vCPU(s), mode sets",
                                        moreWanted: { s.machine.displayMode.serial <= 20 || s.totalStats.modeSets <= 10 || checker.modeChangesSeen <= 5 },
                                        maxPauses: 20_000)
            XCTAssertGreaterThanOrEqual(checker.checks, 300, "\(mode): every pause checked")
            XCTAssertGreaterThan(s.machine.displayMode.serial, 20, "\(mode): the guest set many modes")
            XCTAssertGreaterThan(s.totalStats.modeSets, 10, "\(mode): the display followed many of them")
            XCTAssertGreaterThan(checker.modeChangesSeen, 5, "\(mode): pauses found the screen in a new mode")
        }
    }

    func testNoPageIsLostAcrossModeSetsOnOneVCPU() throws { try noLossAcrossModeSets(cpus: 1) }

    func testNoPageIsLostAcrossModeSetsOnTwoVCPUs() throws { try noLossAcrossModeSets(cpus: 2) }

    /// After the guest stops, the final sync shows exactly the mode in force, not the boot one.
    func testTheShadowTakesTheModeInForce() throws {
        let s = try session(cpus: 1, mode: .ring, ringEntries: 4096, migration: false)
        let boot = s.machine.displayMode.mode
        s.machine.start()
        // Stop the guest while a mode other than the boot one is in force: wait for its second
        // mode set (the first asks for the boot size again), pause, and look.
        var seen: DisplayMode?
        waitFor("the guest in a mode other than its boot one (\(boot))") {
            guard s.machine.displayMode.serial >= 2, s.machine.pause(timeout: 60) else { return false }
            let mode = s.machine.displayMode.mode
            if mode != boot { seen = mode; return true }
            s.machine.resume()
            return false
        }
        s.machine.stopAndWait()
        XCTAssertEqual(s.machine.displayMode.mode, seen, "stopped in the mode it was paused in")
        try s.sync()
        let mode = s.machine.displayMode.mode
        let g = s.withDisplay { $0.grid.geometry }
        XCTAssertEqual([g.width, g.height, g.pitch], [mode.width, mode.height, mode.pitch])
        XCTAssertTrue(s.withDisplay { $0.shadowMatchesGuest() })
        XCTAssertGreaterThan(s.machine.displayMode.serial, 0, "the guest set modes")
    }
}
