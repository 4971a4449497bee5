import Display
import KVM
import Machine
import Synchronization
import TestSupport
@testable import Tracking
import XCTest

/// Any number of display sinks share one damage log on a real guest, each reading at its own
/// pace, and each gets exactly what was repainted since its own last read.
final class DisplaySinkTests: XCTestCase {
    /// One reader: how often it reads (0 = never), the tiles the syncs repainted since its
    /// last read (the reference), and the shadow as it was at that read.
    final class Reader: Sendable {
        struct State {
            var expected: DirtyTileBitmap
            var snapshot: [UInt8]
            var reads = 0
        }
        let sink: DisplaySink
        let every: Int
        /// Used on the vCPU thread at lockstep doorbells, and by the test after the run.
        let state: Mutex<State>
        init(sink: DisplaySink, every: Int, tiles: Int, bytes: Int) {
            self.sink = sink
            self.every = every
            var expected = DirtyTileBitmap(count: tiles)
            expected.setAll() // a new sink's first read covers every tile
            state = Mutex(State(expected: expected, snapshot: [UInt8](repeating: 0, count: bytes)))
        }
        var reads: Int { state.withLock { $0.reads } }
    }

    /// The readers, made once the session is (it makes their sinks).
    final class Readers: Sendable {
        let all: [Reader]
        init(_ all: [Reader]) { self.all = all }
    }

    /// At every lockstep frame: sync, then let each reader due this frame read. Its tiles must
    /// equal the union of every sync's repainted tiles since its last read, and every tile whose
    /// pixels differ from the reader's snapshot must be among them.
    func runSinks(guest: String, args: String = "", mode: TrackingMode, cpus: Int, readers rates: [Int], frames: Int) throws {
        let system = try requireKVM()
        let caps = try HostCapabilities(system: system)
        if caps.usableVCPUs < cpus { throw XCTSkip("host KVM allows \(caps.usableVCPUs) vCPUs; this case needs \(cpus)") }
        var config = try testConfig(guest, args: args, width: 320, height: 200, cpus: cpus, frames: frames)
        config.lockstep = true
        let plan = try TrackingPlan.make(mode: mode, ringEntries: 4096, caps: caps, migration: false)
        let failures = Counts()
        let box = Box<TrackingSession>()
        let readersBox = Box<Readers>()
        var events = MachineEvents()
        events.allFramesDone = { frame in
            guard let session = box.value, let readers = readersBox.value?.all else { return }
            do {
                try session.sync { _, dirty in for r in readers { r.state.withLock { $0.expected.formUnion(dirty) } } }
            } catch { failures.append(-1); return }
            for (i, r) in readers.enumerated() where r.every > 0 && frame % r.every == 0 {
                session.read(r.sink) { display, changed in
                    r.state.withLock { st in
                        st.reads += 1
                        if changed != st.expected { failures.append(frame * 100 + i); return }
                        display.shadow.withUnsafeBytes { now in
                            let grid = display.grid, pitch = display.shadow.geometry.pitch
                            for t in 0..<grid.count where !changed.contains(t) {
                                let rect = grid.rect(ofTile: t)
                                for y in rect.y..<rect.maxY {
                                    let off = y * pitch + rect.x * 4
                                    if memcmp(now.baseAddress! + off, st.snapshot.withUnsafeBytes { $0.baseAddress! } + off, rect.width * 4) != 0 {
                                        failures.append(frame * 100 + 50 + i); return
                                    }
                                }
                            }
                            st.snapshot.withUnsafeMutableBytes { $0.copyMemory(from: now) }
                        }
                        st.expected.clearAll()
                    }
                }
            }
        }
        let session = try TrackingSession(system: system, config: config, plan: plan, tile: TileSize(width: 64, height: 16),
                                          migration: false, events: events)
        let tiles = session.display.grid.count, bytes = session.display.shadow.geometry.byteCount
        let readers = rates.enumerated().map { Reader(sink: session.makeDisplaySink(name: "sink \($0.offset)"), every: $0.element,
                                                      tiles: tiles, bytes: bytes) }
        readersBox.value = Readers(readers)
        box.value = session
        session.machine.start()
        guard case .framesCompleted? = session.machine.waitForEnd() else { return XCTFail("\(guest) runs to frame \(frames)") }
        let label = "\(guest) \(mode) \(cpus) vCPU(s) \(rates.count) sinks"
        let bad = failures.values
        XCTAssertTrue(bad.isEmpty, "\(label): \(bad.count) bad reads; the first encode frame*100 + sink (+50: a tile's pixels changed but it was not reported): \(bad.prefix(5))")
        for r in readers where r.every > 0 {
            XCTAssertEqual(r.reads, frames / r.every, "\(label): a sink reading every \(r.every) frames read that often")
        }
        XCTAssertGreaterThan(session.totalStats.dirtyTiles, frames, "\(label): the guest really repainted tiles")
    }

    static let seventeen = [1, 3, 10, 0, 2, 4, 5, 6, 7, 8, 9, 11, 13, 17, 1, 3, 0]

    func testOneAndTwoSinksSeeExactlyWhatChangedSinceTheirLastRead() throws {
        try runSinks(guest: "desktop", mode: .ring, cpus: 1, readers: [1], frames: 1000)
        try runSinks(guest: "desktop", mode: .ring, cpus: 1, readers: [1, 3], frames: 1000)
        try runSinks(guest: "bounce", args: "sprites=8", mode: .bitmap, cpus: 1, readers: [10, 0], frames: 1000)
    }

    func testSeventeenSinksAtDifferentRatesInRingAndBitmapModes() throws {
        for mode in [TrackingMode.ring, .bitmap] {
            try runSinks(guest: "desktop", mode: mode, cpus: 1, readers: Self.seventeen, frames: 1500)
            try runSinks(guest: "bounce", args: "sprites=8", mode: mode, cpus: 1, readers: Self.seventeen, frames: 1500)
            try runSinks(guest: "pagewriter", args: "pages=40 seed=5 fb=1", mode: mode, cpus: 1, readers: Self.seventeen, frames: 1500)
        }
    }

    func testSeventeenSinksWithTwoVCPUs() throws {
        for mode in [TrackingMode.ring, .bitmap] {
            try runSinks(guest: "desktop", mode: mode, cpus: 2, readers: Self.seventeen, frames: 1000)
            try runSinks(guest: "pagewriter", args: "pages=40 seed=9 fb=1", mode: mode, cpus: 2, readers: Self.seventeen, frames: 1000)
        }
    }
}
