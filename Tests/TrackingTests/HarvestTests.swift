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

/// Keeps a mirror of guest RAM updated from the migration list, and checks it and the display
/// shadow against guest memory. Call with every vCPU held (paused or at a lockstep doorbell).
/// `@unchecked Sendable`: called only with every vCPU held, so never from two threads at once.
final class MirrorChecker: @unchecked Sendable {
    let session: TrackingSession
    var ram: [UInt8]
    private(set) var checks = 0
    private(set) var pagesCopied = 0
    private(set) var lastRoundRAMPages = 0
    private(set) var firstProblem: String?
    /// A display sink and the shadow as it was at its previous read: every tile whose pixels
    /// changed since must be among the tiles the sink is given.
    private let sink: DisplaySink
    private var snapshot: [UInt8]
    private(set) var tilesChangedSeen = 0
    /// Checks that found the screen in a new mode (its size changed since the previous one).
    private(set) var modeChangesSeen = 0

    init(session: TrackingSession) {
        self.session = session
        let m = session.machine
        ram = [UInt8](repeating: 0, count: m.ram.size) // the first round lists every page
        sink = session.makeDisplaySink(name: "checker")
        snapshot = [UInt8](repeating: 0, count: session.display.shadow.geometry.byteCount)
    }

    /// Harvests, ends the migration round, applies its list to the mirror, then compares.
    @discardableResult
    func check(listed: Bool = true) -> Bool {
        checks += 1
        do { try session.sync() } catch { firstProblem = "\(error)"; return false }
        let m = session.machine
        let pageSize = GuestLayout.pageSize
        if listed, let round = session.endMigrationRound() {
            lastRoundRAMPages = round.pages.pages(slot: GuestLayout.ramSlot).count
            for page in round.pages.pages(slot: GuestLayout.ramSlot) {
                let off = Int(page) * pageSize
                ram.withUnsafeMutableBytes { $0.baseAddress!.advanced(by: off).copyMemory(from: m.ram.base + off, byteCount: pageSize) }
                pagesCopied += 1
            }
            let bad = ram.withUnsafeBytes { mirror -> Int? in
                for page in 0..<(m.ram.size / pageSize) where memcmp(mirror.baseAddress! + page * pageSize, m.ram.base + page * pageSize, pageSize) != 0 {
                    return page
                }
                return nil
            }
            if let bad {
                firstProblem = "RAM page \(bad) changed but was not in the migration list (round \(round.number))"
                return false
            }
        }
        let diff = session.withDisplay { $0.firstDifference() }
        if let diff {
            firstProblem = "shadow differs from the guest framebuffer at pixel (\(diff.x), \(diff.y))"
            return false
        }
        let unreported: Int? = session.read(sink) { display, changed in
            // A guest mode set since the last check: the sink must be told of every tile.
            if snapshot.count != display.shadow.geometry.byteCount {
                snapshot = [UInt8](repeating: 0, count: display.shadow.geometry.byteCount)
                modeChangesSeen += 1
                if changed.popCount != display.grid.count { return 0 }
            }
            return display.shadow.withUnsafeBytes { now -> Int? in
                defer { snapshot.withUnsafeMutableBytes { $0.copyMemory(from: now) } }
                let grid = display.grid, pitch = display.shadow.geometry.pitch
                return snapshot.withUnsafeBytes { old -> Int? in
                    for t in 0..<grid.count {
                        let r = grid.rect(ofTile: t)
                        let differs = (r.y..<r.maxY).contains { y in memcmp(now.baseAddress! + y * pitch + r.x * 4, old.baseAddress! + y * pitch + r.x * 4, r.width * 4) != 0 }
                        if differs { tilesChangedSeen += 1 }
                        if differs && !changed.contains(t) { return t }
                    }
                    return nil
                }
            }
        }
        if let unreported {
            firstProblem = "tile \(unreported) changed pixels but the display sink was not told"
            return false
        }
        return true
    }
}

extension MirrorChecker {
    /// Starts the guest and a collector syncing concurrently, checks at `pauses` random pauses
    /// (0-800 µs apart, each after at least one of the collector's syncs, so the two really
    /// interleave however the host schedules them), then stops both and returns the collector.
    /// The first bad pause fails the test, prefixed with `label`, and ends the loop.
    /// While `moreWanted()` says the guest has not yet done what the test needs (on a loaded
    /// host it draws fewer frames in that time), it checks at more pauses, up to `maxPauses`.
    @discardableResult
    func checkAtRandomPauses(_ pauses: Int, listed: Bool, label: String,
                             moreWanted: () -> Bool = { false }, maxPauses: Int = 0) -> Collector {
        let collector = Collector(session: session)
        session.machine.start()
        collector.start()
        var i = 0
        while i < pauses || (i < maxPauses && moreWanted()) {
            defer { i += 1 }
            usleep(UInt32.random(in: 0...800))
            guard collector.waitForSync(after: collector.syncs) else { XCTFail("\(label), pause \(i): no sync of the collector in 60 s"); break }
            guard session.machine.pause(timeout: 60) else { break }
            let ok = check(listed: listed)
            session.machine.resume()
            if !ok { XCTFail("\(label), pause \(i): \(firstProblem ?? "")"); break }
        }
        collector.stop()
        session.machine.stopAndWait()
        return collector
    }
}

/// Harvests back to back on its own thread, as the display refresh does.
/// `@unchecked Sendable`: its flags are guarded by `lock`, a condition variable `stop` waits on.
final class Collector: @unchecked Sendable {
    let session: TrackingSession
    /// Syncs as the sync loop makes them (`syncForReaders`: idle with no display sink).
    let forReaders: Bool
    private let lock = NSCondition()
    private var running = true
    private var done = false
    private var count = 0
    /// Syncs this collector made (not counting anyone else's).
    var syncs: Int { lock.lock(); defer { lock.unlock() }; return count }
    init(session: TrackingSession, forReaders: Bool = false) {
        self.session = session
        self.forReaders = forReaders
    }
    func start() {
        Thread { [self] in
            while true {
                lock.lock(); let go = running; lock.unlock()
                if !go { break }
                if (try? forReaders ? session.syncForReaders() : session.sync()) != nil { lock.lock(); count += 1; lock.broadcast(); lock.unlock() }
                usleep(200)
            }
            lock.lock(); done = true; lock.broadcast(); lock.unlock()
        }.start()
    }
    /// Waits until this collector has made a sync after its `after`-th; false after a minute.
    func waitForSync(after n: Int) -> Bool {
        let deadline = Date(timeIntervalSinceNow: 60)
        lock.lock(); defer { lock.unlock() }
        while count <= n { if !lock.wait(until: deadline) { return count > n } }
        return true
    }

    /// Ends the thread; fails the test if it has not ended within a minute (a sync stuck).
    func stop(file: StaticString = #filePath, line: UInt = #line) {
        let deadline = Date(timeIntervalSinceNow: 60)
        lock.lock(); running = false
        while !done { if !lock.wait(until: deadline) { break } }
        let ended = done
        lock.unlock()
        if !ended { XCTFail("the collector's sync did not return within 60 s", file: file, line: line) }
    }
}

/// A reference set after the closures that read it were made (a session built with events).
final class Box<T: AnyObject & Sendable>: Sendable {
    private let stored = Mutex<T?>(nil)
    var value: T? {
        get { stored.withLock { $0 } }
        set { stored.withLock { $0 = newValue } }
    }
}

final class Counts: Sendable {
    private let v = Mutex<[Int]>([])
    func append(_ x: Int) { v.withLock { $0.append(x) } }
    var values: [Int] { v.withLock { $0 } }
}
