import Display
import KVM
import Machine
import TestSupport
@testable import Tracking
import NoLossCheck
import Synchronization
import XCTest

/// Migration subscribers on real KVM: each keeps a mirror of guest memory updated only from
/// its own takes, and at every pause the mirror equals RAM and framebuffer byte for byte,
/// with the VMM writing the counters page every frame and nothing patched by hand.
final class MigrationSubscriberTests: XCTestCase {
    func makeSession(_ config: MachineConfig, mode: TrackingMode, ringEntries: Int = 256, migration: Bool = false,
                     events: MachineEvents = MachineEvents()) throws -> TrackingSession {
        let system = try requireKVM()
        let caps = try HostCapabilities(system: system)
        if caps.usableVCPUs < config.cpus { throw XCTSkip("host KVM allows \(caps.usableVCPUs) vCPUs; this case needs \(config.cpus)") }
        let plan = try TrackingPlan.make(mode: mode, ringEntries: ringEntries, caps: caps, migration: migration)
        return try TrackingSession(system: system, config: config, plan: plan, tile: TileSize(width: 64, height: 16),
                                   migration: migration, events: events)
    }

    func testTwoSubscribersTakingAtDifferentTimesOneGivingRoundsBackKeepExactMirrors() throws {
        for cpus in [1, 2] {
            for mode in [TrackingMode.ring, .bitmap] {
                let config = try testConfig("pagewriter", args: "pages=48 seed=\(cpus * 7) fb=1", width: 333, height: 211, cpus: cpus, ramMiB: 16)
                let session = try makeSession(config, mode: mode)
                let a = try session.subscribeMigration(), b = try session.subscribeMigration()
                let mirrorA = SlotMirror(session.machine), mirrorB = SlotMirror(session.machine)
                let collector = Collector(session: session)
                session.machine.start()
                collector.start()
                var bTakes = 0, givenBack = 0
                let label = "\(mode), \(cpus) vCPU(s)"
                for pause in 0..<150 {
                    usleep(UInt32.random(in: 200...1500))
                    guard session.machine.pause(timeout: 60) else { break }
                    defer { session.machine.resume() }
                    mirrorA.apply(try session.take(a), from: session.machine)
                    if let bad = mirrorA.firstDifference(session.machine) { XCTFail("\(label), pause \(pause), subscriber A: \(bad)"); break }
                    if pause % 3 == 2 {
                        bTakes += 1
                        let set = try session.take(b)
                        if bTakes % 2 == 1 {
                            session.giveBack(set, to: b) // the send failed: the pages must come round again
                            givenBack += set.total
                        } else {
                            mirrorB.apply(set, from: session.machine)
                            if let bad = mirrorB.firstDifference(session.machine) { XCTFail("\(label), pause \(pause), subscriber B: \(bad)"); break }
                        }
                    }
                }
                collector.stop()
                session.machine.stopAndWait()
                XCTAssertGreaterThan(givenBack, 0, "\(label): B gave rounds back")
                XCTAssertGreaterThan(mirrorA.pagesApplied, mirrorA.totalPages, "\(label): A's rounds after the first carried pages")
                XCTAssertEqual(session.totalStats.resetMismatches, 0, "\(label): no ring entry was walked twice or skipped")
            }
        }
    }

    func testLoggingStartsWithTheFirstSubscriberMidRunAndStopsWithTheLast() throws {
        let config = try testConfig("pagewriter", args: "pages=48 seed=11 fb=1", width: 320, height: 200, ramMiB: 16)
        let session = try makeSession(config, mode: .ring)
        let ram = GuestLayout.ramSlot
        XCTAssertFalse(session.machine.isDirtyLogged(slot: ram), "no subscriber: RAM is not logged")
        let collector = Collector(session: session)
        session.machine.start()
        collector.start()
        guard session.machine.waitForFrames(500) else { return }
        let sub = try session.subscribeMigration()
        XCTAssertTrue(session.machine.isDirtyLogged(slot: ram))
        let mirror = SlotMirror(session.machine)
        for pause in 0..<60 {
            usleep(UInt32.random(in: 200...1500))
            guard session.machine.pause(timeout: 60) else { break }
            mirror.apply(try session.take(sub), from: session.machine)
            let bad = mirror.firstDifference(session.machine)
            session.machine.resume()
            if let bad { XCTFail("pause \(pause): \(bad)"); break }
        }
        try session.unsubscribe(sub)
        XCTAssertFalse(session.machine.isDirtyLogged(slot: ram), "the last subscriber left: RAM logging stopped")
        XCTAssertTrue(session.machine.isDirtyLogged(slot: GuestLayout.framebufferSlot), "the display still logs the framebuffer")
        // A second subscriber later starts from the whole memory again and is exact at once.
        let again = try session.subscribeMigration()
        guard session.machine.pause(timeout: 60) else { return }
        let late = SlotMirror(session.machine)
        late.apply(try session.take(again), from: session.machine)
        XCTAssertNil(late.firstDifference(session.machine))
        session.machine.resume()
        collector.stop()
        session.machine.stopAndWait()
    }

    /// Harvest cost with no subscriber, with one, and after it left: entries per frame (a
    /// deterministic proxy for harvest cost) return to the no-subscriber level.
    func testIdleHarvestCostReturnsAfterTheLastSubscriberLeaves() throws {
        var config = try testConfig("idle", width: 320, height: 200, ramMiB: 16, frames: 900)
        config.lockstep = true
        let box = Box<TrackingSession>()
        let entries = Counts()
        let subBox = Box<MigrationSubscriber>()
        var events = MachineEvents()
        events.allFramesDone = { frame in
            guard let s = box.value else { return }
            _ = try? s.sync()
            entries.append(s.takeIntervalStats().entries)
            if frame == 300 { subBox.value = try? s.subscribeMigration() }
            if frame == 600, let sub = subBox.value { try? s.unsubscribe(sub) }
        }
        let session = try makeSession(config, mode: .ring, events: events)
        box.value = session
        session.machine.start()
        _ = session.machine.waitForEnd()
        let e = entries.values
        XCTAssertEqual(e.count, 900)
        XCTAssertNotNil(subBox.value)
        func mean(_ r: Range<Int>) -> Double { Double(e[r].reduce(0, +)) / Double(r.count) }
        let before = mean(10..<300), during = mean(310..<600), after = mean(610..<900)
        XCTAssertGreaterThan(during, before + 0.5, "with a subscriber RAM pages are logged too (\(before) -> \(during))")
        XCTAssertEqual(after, before, accuracy: 0.25, "after the last one left, the harvest is back to the framebuffer alone")
    }

    /// Display syncs on one thread, ring-full harvests on the vCPU thread, and a migration
    /// thread taking and giving back on a third, all at once: nothing is lost or walked twice.
    func testConcurrentSyncsFromDisplayRingFullAndMigrationAreSerialised() throws {
        let config = try testConfig("pagewriter", args: "pages=1500 seed=5 fb=1", width: 320, height: 200, ramMiB: 32)
        let session = try makeSession(config, mode: .ring, ringEntries: 256)
        let checked = try session.subscribeMigration(), churn = try session.subscribeMigration()
        let mirror = SlotMirror(session.machine)
        let churnMirror = SlotMirror(session.machine)
        let collector = Collector(session: session)
        let stop = Flag()
        let churner = Thread {
            while !stop.isSet {
                if let set = try? session.take(churn) { session.giveBack(set, to: churn) } // every send fails
                usleep(300)
            }
            stop.done()
        }
        session.machine.start()
        collector.start()
        churner.start()
        // At least 80 pauses, and on until a vCPU's ring has filled at least once among the
        // other syncs: the collector and the churner harvest often, so whether the 256 entries
        // fill between two of them within a few pauses is up to the host's scheduling.
        let deadline = Date(timeIntervalSinceNow: 60)
        var pause = 0
        while pause < 80 || session.totalStats.ringFullHarvests == 0 {
            if Date() > deadline { XCTFail("no ring filled in 60 s of concurrent syncs (\(pause) pauses)"); break }
            usleep(UInt32.random(in: 500...3000))
            guard session.machine.pause(timeout: 60) else { break }
            mirror.apply(try session.take(checked), from: session.machine)
            let bad = mirror.firstDifference(session.machine)
            session.machine.resume()
            if let bad { XCTFail("pause \(pause): \(bad)"); break }
            pause += 1
        }
        stop.set()
        stop.waitDone()
        collector.stop()
        session.machine.stopAndWait()
        // Everything the churner gave back is still owed to it: one take brings its mirror up to date.
        churnMirror.apply(try session.take(churn), from: session.machine)
        XCTAssertNil(churnMirror.firstDifference(session.machine), "pages given back under concurrency are all still there")
        let st = session.totalStats
        XCTAssertGreaterThan(st.ringFullHarvests, 0, "the small ring filled, so vCPU threads harvested too")
        XCTAssertEqual(st.resetMismatches, 0, "KVM_RESET_DIRTY_RINGS reset exactly what each harvest walked")
    }
}

/// The tests keep their mirrors with `ringside verify`'s `PageMirror`.
typealias SlotMirror = PageMirror

extension PageMirror {
    /// The first page that differs from guest memory, described; nil when equal.
    func firstDifference(_ machine: Machine) -> String? {
        differences(machine, limit: 1).first.map { "\($0.slotName) page \($0.page) changed but was not in any take" }
    }
}

/// A flag, and the end of the thread that may set it.
final class Flag: Sendable {
    private let value = Atomic<Bool>(false)
    private let finished = Latch()
    func set() { value.store(true, ordering: .sequentiallyConsistent) }
    var isSet: Bool { value.load(ordering: .sequentiallyConsistent) }
    func done() { finished.raise() }
    /// Waits for `done()`; fails the test if it has not come within a minute.
    func waitDone(file: StaticString = #filePath, line: UInt = #line) {
        if !finished.wait(timeout: 60) { XCTFail("the churning thread did not end within 60 s", file: file, line: line) }
    }
}
