import Display
import KVM
import Machine
import TestSupport
@_spi(FaultInjection) @testable import Tracking
import XCTest

/// `--tracking auto` on real KVM: switching the framebuffer between logged tracking and full
/// repaint loses nothing, and the policy picks full repaint for a dense screen and logged
/// tracking for a sparse one.
final class AutoTrackingTests: XCTestCase {
    func makeSession(_ config: MachineConfig, migration: Bool = false, events: MachineEvents = MachineEvents()) throws -> TrackingSession {
        let system = try requireKVM()
        let caps = try HostCapabilities(system: system)
        if caps.usableVCPUs < config.cpus { throw XCTSkip("host KVM allows \(caps.usableVCPUs) vCPUs; this case needs \(config.cpus)") }
        let plan = try TrackingPlan.make(mode: .auto, ringEntries: 256, caps: caps, migration: migration)
        return try TrackingSession(system: system, config: config, plan: plan, tile: TileSize(width: 64, height: 16),
                                   migration: migration, events: events)
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

    /// With a migration subscriber the framebuffer stays logged, even when forced to switch,
    /// and the subscriber's mirror is exact.
    func testAMigrationSubscriberKeepsTheFramebufferLogged() throws {
        let config = try testConfig("pagewriter", args: "pages=48 seed=4 fb=1", width: 333, height: 211, pitch: 1344)
        let session = try makeSession(config, migration: true)
        session.forceMethodSwitchEvery(2)
        MirrorChecker(session: session).checkAtRandomPauses(150, listed: true, label: "auto with a subscriber")
        XCTAssertEqual(session.totalStats.methodSwitches, 0)
        XCTAssertEqual(session.displayMethod, .logged)
        XCTAssertTrue(session.machine.isDirtyLogged(slot: GuestLayout.framebufferSlot))
    }

    /// Lockstep frames of a real guest: plasma (every pixel every frame) ends in full repaint,
    /// desktop (a cursor and a clock) stays logged. The margins are wide (logged plasma costs
    /// about twice a full copy, logged desktop a tenth), so host noise does not decide.
    func testPlasmaGoesToFullRepaintAndDesktopStaysLogged() throws {
        for (guest, expected) in [("plasma", DisplayMethod.full), ("desktop", .logged)] {
            var config = try testConfig(guest, width: 1280, height: 800, frames: 120)
            config.lockstep = true
            let box = Box<TrackingSession>()
            var events = MachineEvents()
            events.allFramesDone = { _ in _ = try? box.value?.sync() }
            let session = try makeSession(config, events: events)
            box.value = session
            session.machine.start()
            session.machine.wait()
            XCTAssertEqual(session.displayMethod, expected, "\(guest) after 120 frames")
            XCTAssertTrue(session.withDisplay { $0.shadowMatchesGuest() }, "\(guest): the shadow is exact")
            XCTAssertLessThanOrEqual(session.totalStats.methodSwitches, 3, "\(guest): no flapping")
        }
    }
}
