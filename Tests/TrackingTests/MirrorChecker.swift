import Display
import KVM
import Machine
import TestSupport
@testable import Tracking
import XCTest
import Synchronization

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
