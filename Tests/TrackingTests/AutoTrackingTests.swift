import Display
import KVM
import Machine
import TestSupport
@_spi(FaultInjection) @testable import Tracking
import XCTest
import Synchronization

/// `--tracking auto` on real KVM: switching the framebuffer between logged tracking and full
/// repaint loses nothing, and the policy picks full repaint for a dense screen and logged
/// tracking for a sparse one.
final class AutoTrackingTests: XCTestCase {
    func makeSession(_ config: MachineConfig, migration: Bool = false, events: MachineEvents = MachineEvents(),
                     writeFaultNanos: Double? = nil) throws -> TrackingSession {
        let system = try requireKVM()
        let caps = try HostCapabilities(system: system)
        if caps.usableVCPUs < config.cpus { throw XCTSkip("host KVM allows \(caps.usableVCPUs) vCPUs; this case needs \(config.cpus)") }
        let plan = try TrackingPlan.make(mode: .auto, ringEntries: 256, caps: caps, migration: migration)
        return try TrackingSession(system: system, config: config, plan: plan, tile: TileSize(width: 64, height: 16),
                                   migration: migration, events: events, writeFaultNanos: writeFaultNanos)
    }

    /// Switching every few syncs, with a collector syncing concurrently and random pauses:
    /// the shadow equals the framebuffer and a display sink was told of every changed tile.
    func noLossAcrossSwitches(cpus: Int) throws {
        let config = try testConfig("pagewriter", args: "pages=48 seed=\(cpus) ram=0 fb=1", width: 333, height: 211, pitch: 1344, cpus: cpus)
        let session = try makeSession(config)
        session.forceMethodSwitchEvery(3)
        MirrorChecker(session: session).checkAtRandomPauses(400, listed: false, label: "\(cpus) vCPU(s)")
        XCTAssertGreaterThan(session.totalStats.methodSwitches, 100, "the method really switched back and forth")
        XCTAssertGreaterThan(session.machine.framesCompleted(cpu: 0), 10)
    }

    func testNoPageIsLostAcrossSwitchesOnOneVCPU() throws { try noLossAcrossSwitches(cpus: 1) }
    func testNoPageIsLostAcrossSwitchesOnTwoVCPUs() throws { try noLossAcrossSwitches(cpus: 2) }

    /// The policy's own switches (no forcing) on the alternating workload, the smallest ring,
    /// a collector syncing concurrently and random pauses: nothing is lost.
    func noLossUnderThePolicy(cpus: Int) throws {
        let config = try testConfig("alternate", args: "period=6", width: 1280, height: 800, cpus: cpus)
        let session = try makeSession(config, writeFaultNanos: 2_000)
        MirrorChecker(session: session).checkAtRandomPauses(200, listed: false, label: "alternate, \(cpus) vCPU(s)")
        XCTAssertGreaterThanOrEqual(session.totalStats.methodSwitches, 1, "the policy switched by itself")
    }

    func testNoPageIsLostAcrossThePolicysSwitchesOnOneVCPU() throws { try noLossUnderThePolicy(cpus: 1) }
    func testNoPageIsLostAcrossThePolicysSwitchesOnTwoVCPUs() throws { try noLossUnderThePolicy(cpus: 2) }

    /// With a migration subscriber the framebuffer stays logged, even when forced to switch,
    /// and the subscriber's mirror is exact (1 and 2 vCPUs, smallest ring).
    func testAMigrationSubscriberKeepsTheFramebufferLogged() throws {
        try subscriberKeepsLogging(cpus: 1)
    }

    func testAMigrationSubscriberKeepsTheFramebufferLoggedOnTwoVCPUs() throws {
        try subscriberKeepsLogging(cpus: 2)
    }

    func subscriberKeepsLogging(cpus: Int) throws {
        let config = try testConfig("pagewriter", args: "pages=48 seed=4 fb=1", width: 333, height: 211, pitch: 1344, cpus: cpus)
        let session = try makeSession(config, migration: true)
        session.forceMethodSwitchEvery(2)
        MirrorChecker(session: session).checkAtRandomPauses(150, listed: true, label: "auto with a subscriber, \(cpus) vCPU(s)")
        XCTAssertEqual(session.totalStats.methodSwitches, 0)
        XCTAssertEqual(session.displayMethod, .logged)
        XCTAssertTrue(session.machine.isDirtyLogged(slot: GuestLayout.framebufferSlot))
    }

    /// Lockstep frames of a real guest, on this host's KVM but with the guest's write-fault
    /// cost of each host kind the issue names: plasma (every pixel every frame) ends in full
    /// repaint on both; a screen of 10 framebuffer pages a frame (pagewriter) stays logged
    /// where a fault costs 2 us (20 us of faults a frame), and one of 100 pages goes unlogged
    /// where a fault costs 29 us (2.9 ms), against a 1280x800 copy the policy measured at
    /// 0.36-0.9 ms on hosts of this kind, loaded or not: 4x or more either way, so host noise
    /// does not decide. (100 pages at 2 us cost 0.4 ms with the host's part: at break-even
    /// with a copy measured under load, which is the host's to decide; the policy's unit tests
    /// cover the break-even cases against both cost profiles.)
    func testPlasmaGoesToFullRepaintAndASparseScreenDependsOnTheFaultCost() throws {
        let sparse = "pagewriter"
        for (guest, args, fault, expected) in [("plasma", "", 2_000.0, DisplayMethod.unlogged), ("plasma", "", 29_000, .unlogged),
                                               (sparse, "pages=10 ram=0 fb=1", 2_000, .logged), (sparse, "pages=100 ram=0 fb=1", 29_000, .unlogged)] {
            var config = try testConfig(guest, args: args, width: 1280, height: 800, frames: 400)
            config.lockstep = true
            let box = Box<TrackingSession>()
            var events = MachineEvents()
            events.allFramesDone = { _ in _ = try? box.value?.sync() }
            let session = try makeSession(config, events: events, writeFaultNanos: fault)
            box.value = session
            session.machine.start()
            _ = session.machine.waitForEnd()
            XCTAssertEqual(session.displayMethod, expected, "\(guest) with \(fault) ns faults after 400 frames: \(session.totalStats.switchLines)")
            XCTAssertTrue(session.withDisplay { $0.shadowMatchesGuest() }, "\(guest): the shadow is exact")
            // One switch where the costs say so, none where they do not: lockstep (one sync a
            // frame) is never explored, and the boot frame (the whole screen painted once) is
            // not taken for a dense workload.
            XCTAssertEqual(session.totalStats.methodSwitches, expected == .unlogged ? 1 : 0, "\(guest) with \(fault) ns faults: no flapping")
            XCTAssertEqual(session.policyCounts?.explorations, 0, "\(guest): lockstep is never explored")
        }
    }

    /// Idle and desktop in lockstep for 600 frames, 1 and 2 vCPUs, the guest held now and then
    /// for 60 ms between two frames (as the bench's cells taking turns hold it): no switch at
    /// all. The held intervals are stalls, left out of the rate windows.
    func testIdleAndDesktopInLockstepDoNotSwitch() throws {
        for (guest, cpus) in [("idle", 1), ("idle", 2), ("desktop", 1), ("desktop", 2)] {
            var config = try testConfig(guest, width: 1280, height: 800, cpus: cpus, frames: 600)
            config.lockstep = true
            let box = Box<TrackingSession>()
            let syncs = SyncCounter()
            var events = MachineEvents()
            events.allFramesDone = { _ in
                if syncs.next() % 150 == 149 { usleep(60_000) }
                _ = try? box.value?.sync()
            }
            let session = try makeSession(config, events: events, writeFaultNanos: 2_000)
            box.value = session
            session.machine.start()
            _ = session.machine.waitForEnd()
            XCTAssertEqual(session.totalStats.methodSwitches, 0, "\(guest), \(cpus) vCPU(s)")
            XCTAssertEqual(session.displayMethod, .logged)
            XCTAssertEqual(session.policyCounts?.explorations, 0, "\(guest), \(cpus) vCPU(s)")
            XCTAssertGreaterThanOrEqual(session.policyCounts?.stalls ?? 0, 3, "\(guest), \(cpus) vCPU(s): the held intervals were seen as stalls")
            XCTAssertTrue(session.withDisplay { $0.shadowMatchesGuest() }, "\(guest): the shadow is exact")
        }
    }

    /// The alternating workload in lockstep (real KVM, the guest's fault cost of the 2 us host
    /// so the quiet phase is clearly cheaper logged on any host): the policy switches by
    /// itself, both ways, and the shadow is exact at the end. How fast it follows a change of
    /// phase (within 3 syncs, at most 2 switches a phase) is a decision over measured costs:
    /// AdaptivePolicyTests checks it against given costs; on a loaded host the measured ones
    /// (and the guest-rate rule) may hold it longer, which only a benchmark can weigh.
    func testAutoFollowsTheAlternatingWorkloadOnRealKVM() throws {
        let period = 30, phases = 6
        var config = try testConfig("alternate", args: "period=\(period)", width: 1280, height: 800, frames: period * phases)
        config.lockstep = true
        let box = Box<TrackingSession>()
        let log = SwitchLog()
        var events = MachineEvents()
        events.allFramesDone = { frame in
            guard let s = box.value else { return }
            _ = try? s.sync()
            log.note(frame: Int(frame), method: s.displayMethod)
        }
        let session = try makeSession(config, events: events, writeFaultNanos: 2_000)
        box.value = session
        session.machine.start()
        _ = session.machine.waitForEnd()
        let fault = try XCTUnwrap(session.writeFaultNanos)
        let switches = log.switches
        XCTAssertTrue(session.withDisplay { $0.shadowMatchesGuest() }, "the shadow is exact")
        XCTAssertTrue(switches.contains { $0.method == .unlogged }, "the policy left logging for an animated phase: \(switches) (fault \(Int(fault)) ns)")
        XCTAssertTrue(switches.contains { $0.method == .logged }, "and came back for a quiet one: \(switches) (fault \(Int(fault)) ns)")
        // The first quiet phase may spend one rate window unlogged (to learn the guest's
        // unlogged frame rate) and must end logged.
        let first = switches.filter { $0.frame <= period }
        XCTAssertLessThanOrEqual(first.count, 2, "\(switches)")
        XCTAssertNotEqual(first.last?.method, .unlogged, "the first quiet phase ends logged: \(switches)")
    }

    /// The write-fault probe measures something real: the logged run's guest frames are slower
    /// by a positive cost per page, and each frame dirtied about the pages pagewriter writes.
    func testTheWriteFaultProbeMeasuresAPositiveCostPerPage() throws {
        let system = try requireKVM()
        let caps = try HostCapabilities(system: system)
        let plan = try TrackingPlan.make(mode: .auto, ringEntries: TrackingPlan.defaultRingEntries, caps: caps, migration: false)
        let cost = try WriteFaultProbe.measure(system: system, logging: plan.logging, image: try builtInGuest("pagewriter"))
        XCTAssertGreaterThan(cost.nanosPerPage, 100, "a logged write fault costs the guest something: \(cost)")
        XCTAssertLessThan(cost.nanosPerPage, 1_000_000, "and less than a millisecond: \(cost)")
        // 48 random writes among 300 pages: 300 * (1 - (299/300)^48) = 44.4 distinct pages.
        XCTAssertEqual(cost.pagesPerFrame, 44.4, accuracy: 6, "\(cost)")
        XCTAssertGreaterThan(cost.loggedFrameNanos, cost.unloggedFrameNanos)
    }
}

/// Counts calls (on the vCPU thread in lockstep: one at a time).
final class SyncCounter: Sendable {
    private let n = Mutex(0)
    func next() -> Int { n.withLock { n in defer { n += 1 }; return n } }
}

/// Method changes seen after each lockstep sync (written on the vCPU thread, read after the run).
final class SwitchLog: Sendable {
    private struct State {
        var switches: [(frame: Int, method: DisplayMethod)] = []
        var last = DisplayMethod.logged
    }
    private let state = Mutex(State())
    var switches: [(frame: Int, method: DisplayMethod)] { state.withLock { $0.switches } }
    func note(frame: Int, method: DisplayMethod) {
        state.withLock { s in
            if method != s.last { s.switches.append((frame, method)); s.last = method }
        }
    }
}
