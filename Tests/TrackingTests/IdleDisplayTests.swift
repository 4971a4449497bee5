import Display
import KVM
import Machine
import NoLossCheck
import TestSupport
@testable import Tracking
import XCTest

/// Syncs nobody reads, on real KVM: with no display sink, `syncForReaders` only harvests (the
/// counters say so, and the framebuffer's logging is off); a sink made later sees exactly the
/// guest's picture at once, every sync while it lives keeps the shadow exact, and a migration
/// subscriber made while the display is idle still gets every page.
final class IdleDisplayTests: XCTestCase {
    func makeSession(_ config: MachineConfig, mode: TrackingMode, events: MachineEvents = MachineEvents()) throws -> TrackingSession {
        let system = try requireKVM()
        let caps = try HostCapabilities(system: system)
        let plan = try TrackingPlan.make(mode: mode, ringEntries: 4096, caps: caps, migration: false)
        return try TrackingSession(system: system, config: config, plan: plan, tile: TileSize(width: 64, height: 16),
                                   migration: false, events: events)
    }

    /// The shadow's bytes (under the lock).
    static func shadowBytes(_ s: TrackingSession) -> [UInt8] {
        s.withDisplay { d in d.shadow.withUnsafeBytes { Array($0) } }
    }

    /// What a lockstep run saw, frame by frame (filled on the vCPU thread at lockstep doorbells).
    /// `@unchecked Sendable`: touched only there while the machine runs, and by the test after it ended.
    final class Record: @unchecked Sendable {
        var sink: DisplaySink?
        var problems: [String] = []
        var statsAtAttach: [TrackingStats] = []
        var framebufferLoggedWhileIdle: [Bool] = []
    }

    /// `frames` lockstep frames of `guest`, a `syncForReaders()` at each. A display sink is made
    /// at each frame of `attach` (0: before the machine starts) and dropped at each of `drop`.
    /// While a sink lives, the shadow must equal the guest's framebuffer after every sync, and a
    /// new sink's first read must name every tile. Returns the session (ended) and the record.
    func lockstepRun(_ guest: String, args: String = "", mode: TrackingMode, frames: Int,
                     attach: Set<Int>, drop: Set<Int>) throws -> (TrackingSession, Record) {
        var config = try testConfig(guest, args: args, width: 320, height: 200, frames: frames)
        config.lockstep = true
        let box = Box<TrackingSession>()
        let record = Record()
        var events = MachineEvents()
        events.allFramesDone = { frame in
            guard let s = box.value else { return }
            if drop.contains(frame) { record.sink = nil }
            if attach.contains(frame) {
                record.statsAtAttach.append(s.totalStats)
                record.sink = s.makeDisplaySink(name: "late reader")
                // Before any further sync: the new reader's picture is the guest's.
                if !s.withDisplay({ $0.shadowMatchesGuest() }) { record.problems.append("frame \(frame): the new reader's shadow differs from the guest") }
                let all = s.read(record.sink!) { d, changed in changed.popCount == d.grid.count }
                if !all { record.problems.append("frame \(frame): the new reader's first read did not name every tile") }
            }
            do { try s.syncForReaders() } catch { record.problems.append("frame \(frame): \(error)"); return }
            if record.sink != nil {
                if let at = s.withDisplay({ $0.firstDifference() }) { record.problems.append("frame \(frame): shadow differs at \(at)") }
            } else {
                record.framebufferLoggedWhileIdle.append(s.machine.isDirtyLogged(slot: GuestLayout.framebufferSlot))
            }
        }
        let session = try makeSession(config, mode: mode, events: events)
        box.value = session
        if attach.contains(0) { record.sink = session.makeDisplaySink(name: "reader from boot") }
        session.machine.start()
        guard case .framesCompleted? = session.machine.waitForEnd() else {
            XCTFail("\(guest) \(mode) runs to frame \(frames)")
            return (session, record)
        }
        return (session, record)
    }

    static let guests: [(String, String)] = [("desktop", ""), ("bounce", "sprites=8"), ("plasma", "")]

    /// No reader for 60 frames: 60 idle syncs, nothing copied, the framebuffer unlogged (in the
    /// logged modes). A reader made after the last frame sees the same bytes as the shadow of a
    /// run that had a reader from boot.
    func testAReaderAfterAnIdleRunSeesTheSamePictureAsARunThatAlwaysHadOne() throws {
        for (guest, args) in Self.guests {
            for mode in TrackingMode.allCases {
                let label = "\(guest) \(mode)"
                let (always, alwaysRecord) = try lockstepRun(guest, args: args, mode: mode, frames: 60, attach: [0], drop: [])
                XCTAssertEqual(alwaysRecord.problems, [], label)
                let reference = Self.shadowBytes(always)
                XCTAssertEqual(always.totalStats.idleSyncs, 0, "\(label): a run with a reader has no idle sync")

                let (idle, record) = try lockstepRun(guest, args: args, mode: mode, frames: 60, attach: [], drop: [])
                XCTAssertEqual(record.problems, [], label)
                let st = idle.totalStats
                XCTAssertEqual(st.idleSyncs, 60, "\(label): every sync was idle")
                XCTAssertEqual(st.syncs, 0, "\(label): no display sync")
                XCTAssertEqual(st.bytesCopied, 0, "\(label): nothing copied into the shadow")
                let logs = mode != .compare && mode != .full
                XCTAssertEqual(Set(record.framebufferLoggedWhileIdle), [false], "\(label): the framebuffer is not logged while nobody reads it")
                let sink = idle.makeDisplaySink(name: "after the end")
                XCTAssertEqual(idle.totalStats.displayWakes, 1, label)
                XCTAssertEqual(idle.totalStats.bytesCopied, idle.display.shadow.geometry.byteCount, "\(label): one whole-frame copy")
                XCTAssertTrue(idle.read(sink) { d, changed in changed.popCount == d.grid.count }, "\(label): the first read names every tile")
                XCTAssertTrue(Self.shadowBytes(idle) == reference, "\(label): the late reader's picture equals the always-read run's")
                XCTAssertEqual(idle.machine.isDirtyLogged(slot: GuestLayout.framebufferSlot), logs && idle.displayMethod == .logged,
                               "\(label): awake, the framebuffer is logged as the mode says")
                withExtendedLifetime(sink) {}
            }
        }
    }

    /// Readers come and go while the guest runs: idle, a reader at frame 30 (exact at once and
    /// after every sync), dropped at 60 (idle again: logging off, no copies), another at 90.
    func testReadersComingAndGoingMidRunKeepTheShadowExactWhileTheyLive() throws {
        for (guest, args) in Self.guests {
            for mode in TrackingMode.allCases {
                let label = "\(guest) \(mode)"
                let (s, record) = try lockstepRun(guest, args: args, mode: mode, frames: 120, attach: [30, 90], drop: [60])
                XCTAssertEqual(record.problems, [], label)
                XCTAssertEqual(record.statsAtAttach.count, 2, label)
                guard record.statsAtAttach.count == 2 else { continue }
                let first = record.statsAtAttach[0], second = record.statsAtAttach[1]
                XCTAssertEqual(first.idleSyncs, 29, "\(label): frames 1-29 were idle")
                XCTAssertEqual(first.bytesCopied, 0, "\(label): nothing copied before the first reader")
                XCTAssertEqual(second.syncs, 31, "\(label): the wake at frame 30, then frames 30-59 synced for the reader")
                XCTAssertEqual(second.idleSyncs, 29 + 30, "\(label): frames 60-89 were idle again")
                XCTAssertEqual(second.displayWakes, 1, label)
                XCTAssertEqual(Set(record.framebufferLoggedWhileIdle), [false], "\(label): unlogged whenever idle")
                let end = s.totalStats
                XCTAssertEqual(end.syncs, 63, "\(label): two wakes, frames 30-59 and 90-120")
                XCTAssertEqual(end.displayWakes, 2, label)
            }
        }
    }

    /// A migration subscriber made while nobody reads the display: its mirror stays exact at
    /// every pause, the framebuffer is logged while it lives, the display stays idle throughout
    /// (migration's syncs are harvests), and logging stops again once it leaves.
    func testAMigrationStartedWhileIdleGetsEveryPage() throws {
        for mode in [TrackingMode.ring, .bitmap, .auto] {
            let label = "\(mode)"
            let config = try testConfig("pagewriter", args: "pages=48 seed=3 fb=1", width: 320, height: 200, ramMiB: 16)
            let session = try makeSession(config, mode: mode)
            let collector = Collector(session: session, forReaders: true)
            let fb = GuestLayout.framebufferSlot
            session.machine.start()
            collector.start()
            guard session.machine.waitForFrames(200), collector.waitForSync(after: 5) else { return }
            XCTAssertFalse(session.machine.isDirtyLogged(slot: fb), "\(label): idle, the framebuffer is not logged")
            let sub = try session.subscribeMigration()
            XCTAssertTrue(session.machine.isDirtyLogged(slot: fb), "\(label): the migration needs the framebuffer's pages")
            let mirror = SlotMirror(session.machine)
            for pause in 0..<40 {
                usleep(UInt32.random(in: 200...1500))
                guard session.machine.pause(timeout: 60) else { break }
                mirror.apply(try session.take(sub), from: session.machine)
                let bad = mirror.firstDifference(session.machine)
                let logged = session.machine.isDirtyLogged(slot: fb)
                session.machine.resume()
                if let bad { XCTFail("\(label), pause \(pause): \(bad)"); break }
                if !logged { XCTFail("\(label), pause \(pause): an idle sync stopped logging the framebuffer under a migration"); break }
            }
            try session.unsubscribe(sub)
            let before = collector.syncs
            XCTAssertTrue(collector.waitForSync(after: before + 1))
            XCTAssertFalse(session.machine.isDirtyLogged(slot: fb), "\(label): the subscriber left, so an idle sync stops logging again")
            collector.stop()
            session.machine.stopAndWait()
            let st = session.totalStats
            XCTAssertEqual(st.syncs, 0, "\(label): no display sync: the migration's takes were harvests")
            XCTAssertEqual(st.displayWakes, 0, label)
            XCTAssertGreaterThan(st.idleSyncs, 40, label)
            XCTAssertEqual(st.resetMismatches, 0, label)
        }
    }
}
