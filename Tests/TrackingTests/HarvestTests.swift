import Display
import KVM
import Machine
import TestSupport
@testable import Tracking
import XCTest
import Synchronization

/// Real KVM dirty logging: nothing written is ever lost, in any mode.
final class HarvestTests: XCTestCase {
    func makeSession(_ config: MachineConfig, mode: TrackingMode, ringEntries: Int = 4096, migration: Bool,
                     tile: TileSize = TileSize(width: 64, height: 16), events: MachineEvents = MachineEvents()) throws -> TrackingSession {
        let system = try requireKVM()
        let caps = try HostCapabilities(system: system)
        if mode == .ring && TrackingPlan.ringEntryRange(caps) == nil { throw XCTSkip("host KVM has no dirty ring") }
        let plan = try TrackingPlan.make(mode: mode, ringEntries: ringEntries, caps: caps, migration: migration)
        return try TrackingSession(system: system, config: config, plan: plan, tile: tile, migration: migration, events: events)
    }

    func requireCPUs(_ n: Int) throws {
        let caps = try HostCapabilities(system: try requireKVM())
        if caps.usableVCPUs < n { throw XCTSkip("host KVM allows \(caps.usableVCPUs) vCPUs") }
    }

    /// The bug in the seed thread: after KVM_RESET_DIRTY_RINGS a second write to a page
    /// must fault and be reported again. `pattern` rewrites every framebuffer page each frame.
    func testAfterAResetASecondWriteToTheSamePageIsReportedAgain() throws {
        for mode in [TrackingMode.ring, .bitmap] {
            var config = try testConfig("pattern", width: 256, height: 64, frames: 40)
            config.lockstep = true
            let fbPages = 256 * 4 * 64 / 4096
            let perFrame = Counts()
            let box = Box<TrackingSession>()
            var events = MachineEvents()
            events.allFramesDone = { _ in
                _ = try? box.value?.sync()
                perFrame.append(box.value?.takeIntervalStats().uniquePages ?? -1)
            }
            let session = try makeSession(config, mode: mode, migration: false, events: events)
            box.value = session
            session.machine.start()
            _ = session.machine.waitForEnd()
            XCTAssertEqual(perFrame.values.count, 40, "\(mode)")
            XCTAssertEqual(Set(perFrame.values), [fbPages], "\(mode): every frame reports all \(fbPages) framebuffer pages again")
        }
    }

    /// Ring full: a 256-entry ring and a guest dirtying 2000 RAM pages per frame. Every page
    /// is reported, the vCPU resumes after each ring-full exit, and the mirror stays exact.
    func testRingFullLosesNothingAndTheVCPUResumes() throws { try ringFullLosesNothing(cpus: 1) }

    func testRingFullLosesNothingWithTwoVCPUs() throws {
        try requireCPUs(2)
        try ringFullLosesNothing(cpus: 2)
    }

    func ringFullLosesNothing(cpus: Int) throws {
        var config = try testConfig("pagewriter", args: "pages=2000 seed=7 fb=1", width: 320, height: 200, cpus: cpus, ramMiB: 32, frames: 30)
        config.lockstep = true
        let checker = Box<MirrorChecker>()
        let failures = Counts()
        var events = MachineEvents()
        events.allFramesDone = { _ in if let c = checker.value, !c.check() { failures.append(1) } }
        let session = try makeSession(config, mode: .ring, ringEntries: 256, migration: true, events: events)
        checker.value = MirrorChecker(session: session)
        session.machine.start()
        guard case .framesCompleted? = session.machine.waitForEnd() else { return XCTFail("the guest runs to its last frame") }
        XCTAssertEqual(failures.values.count, 0, "\(cpus) vCPU(s), every pause: mirror equals guest memory; first problem: \(checker.value!.firstProblem ?? "")")
        XCTAssertGreaterThan(session.totalStats.ringFullHarvests, 10 * cpus, "the small rings really filled")
        XCTAssertEqual(session.totalStats.resetMismatches, 0, "KVM_RESET_DIRTY_RINGS reset exactly what was harvested")
        XCTAssertEqual(checker.value!.checks, 30)
    }

    /// In the manner of the kernel's dirty_log_test: the guest writes iteration numbers into
    /// random pages of RAM and framebuffer while a collector harvests concurrently; at every
    /// pause every changed page was reported (the migration mirror equals RAM), the shadow
    /// equals the framebuffer byte for byte, and a display sink was told of every tile whose
    /// pixels changed since the previous pause. Every mode, 1 and 2 vCPUs, many pauses.
    func testNoDirtyPageIsLostAcrossThousandsOfPausesOnOneVCPU() throws { try noDirtyPageIsLost(cpus: 1) }

    func testNoDirtyPageIsLostAcrossThousandsOfPausesOnTwoVCPUs() throws {
        try requireCPUs(2) // skips, with the reason, on a host that allows one vCPU
        try noDirtyPageIsLost(cpus: 2)
    }

    func noDirtyPageIsLost(cpus: Int) throws {
        let pausesPerRun = 400
        var total = 0
        for mode in TrackingMode.allCases {
            let migration = mode.hasPageList
            let config = try testConfig("pagewriter", args: "pages=48 seed=\(cpus * 10 + total)", width: 333, height: 211,
                                        pitch: 1344, cpus: cpus, ramMiB: 16)
            let session = try makeSession(config, mode: mode, ringEntries: 256, migration: migration)
            let checker = MirrorChecker(session: session)
            let collector = checker.checkAtRandomPauses(pausesPerRun, listed: migration, label: "\(mode), \(cpus) vCPU(s)")
            total += checker.checks
            XCTAssertGreaterThan(collector.syncs, pausesPerRun / 4, "\(mode): the collector itself harvested concurrently, not only the checker")
            XCTAssertGreaterThan(checker.tilesChangedSeen, 0, "\(mode): the sink check saw changed tiles")
            XCTAssertGreaterThan(session.machine.framesCompleted(cpu: 0), 10, "the guest made progress")
        }
        XCTAssertEqual(total, pausesPerRun * TrackingMode.allCases.count, "every pause of every mode was checked")
    }

    /// The migration mirror: a copy of RAM updated each round with only the listed pages
    /// equals guest RAM at every pause (checked in `MirrorChecker`); this one runs with the
    /// display refreshing at its own pace and rounds ended by another thread. After the first
    /// round (the whole memory), a round lists no more pages than the guest can have written
    /// in the frames it drew, plus the few it always touches (stack, data, counters page).
    func testAMigrationMirrorFollowsGuestRAMRoundByRound() throws {
        let perFrame = 200
        let config = try testConfig("pagewriter", args: "pages=\(perFrame) seed=3 fb=0", width: 320, height: 200, ramMiB: 64)
        let session = try makeSession(config, mode: .ring, migration: true)
        let checker = MirrorChecker(session: session)
        let collector = Collector(session: session)
        session.machine.start()
        collector.start()
        var lastFrames = 0
        for round in 0..<100 {
            usleep(2000)
            guard session.machine.pause(timeout: 60) else { break }
            let ok = checker.check(listed: true)
            let frames = session.machine.framesCompleted(cpu: 0)
            session.machine.resume()
            if !ok { XCTFail(checker.firstProblem ?? ""); break }
            if round > 0 {
                // Frames drawn since the previous pause, plus the one in progress then.
                let bound = perFrame * (frames - lastFrames + 1) + 16
                XCTAssertLessThanOrEqual(checker.lastRoundRAMPages, bound, "round \(round): only pages the guest wrote are listed")
            }
            lastFrames = frames
        }
        collector.stop()
        session.machine.stopAndWait()
        XCTAssertEqual(checker.checks, 100)
    }
}
