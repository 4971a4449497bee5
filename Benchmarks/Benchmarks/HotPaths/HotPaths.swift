import Benchmark
import Dispatch
import Display
import Foundation
import KVM
import Machine
import Tracking

// Hot paths of one display refresh, on synthetic data in ordinary memory (no KVM), plus one
// end-to-end refresh of a real guest frame (needs /dev/kvm; skipped without it).
// Each reports wall clock, throughput and heap allocations (malloc interposer); the ring
// benchmarks also report millions of entries per second.

let entriesPerSecond = BenchmarkMetric.custom("M entries/s", polarity: .prefersLarger, useScalingFactor: false)

/// A dirty ring in ordinary memory playing the kernel's part: `count` entries of
/// `struct kvm_dirty_gfn { u32 flags; u32 slot; u64 offset; }` naming framebuffer pages in
/// order (what a full-screen redraw produces), wrapping around `pages`.
final class SyntheticRing: @unchecked Sendable {
    let count: Int
    let memory: UnsafeMutableRawPointer

    init(count: Int, pages: Int) {
        self.count = count
        memory = .allocate(byteCount: count * 16, alignment: 4096)
        for i in 0..<count {
            memory.storeBytes(of: 0, toByteOffset: i * 16, as: UInt32.self)
            memory.storeBytes(of: GuestLayout.framebufferSlot, toByteOffset: i * 16 + 4, as: UInt32.self)
            memory.storeBytes(of: UInt64(i % pages), toByteOffset: i * 16 + 8, as: UInt64.self)
        }
    }

    /// Marks every entry dirty again (the kernel's publish), so the next walk sees them all.
    func arm() {
        for i in 0..<count { memory.storeBytes(of: 1, toByteOffset: i * 16, as: UInt32.self) }
    }

    /// A fresh view at fetch index 0.
    var view: DirtyRingView { DirtyRingView(entries: memory, count: count) }
}

/// Dedupe as the harvester does it: a page bitmap says what was seen, a list keeps the order.
struct PageSet {
    var seen: [UInt64]
    var list: [UInt64]
    var n = 0
    init(pages: Int) {
        seen = [UInt64](repeating: 0, count: (pages + 63) / 64)
        list = [UInt64](repeating: 0, count: pages)
    }
    @inline(__always) mutating func add(_ page: UInt64) {
        let w = Int(page >> 6), bit = UInt64(1) << (page & 63)
        if seen[w] & bit != 0 { return }
        seen[w] |= bit
        list[n] = page
        n += 1
    }
    mutating func reset() {
        for i in 0..<n { let p = list[i]; seen[Int(p >> 6)] &= ~(UInt64(1) << (p & 63)) }
        n = 0
    }
}

let hd = FramebufferGeometry(width: 1920, height: 1080)
let tile = TileSize(width: 64, height: 16)

/// Drives a real guest in lockstep one frame at a time: `step()` lets it draw a frame and
/// returns with its vCPU held at the doorbell, so a refresh then sees exactly that frame.
final class LockstepRig: @unchecked Sendable {
    let session: TrackingSession
    let sink: DisplaySink
    private let frameReady = DispatchSemaphore(value: 0)
    private let go = DispatchSemaphore(value: 0)

    init(guest: String, arguments: String = "", width: Int, height: Int, mode: TrackingMode, migration: Bool) throws {
        let system = try KVMSystem()
        let caps = try HostCapabilities(system: system)
        var config = MachineConfig(image: try GuestCatalog.load(guest))
        config.arguments = arguments
        config.width = width
        config.height = height
        config.guestHz = 0
        config.lockstep = true
        let plan = try TrackingPlan.make(mode: mode, ringEntries: TrackingPlan.defaultRingEntries, caps: caps, migration: migration)
        let box = RigBox()
        var events = MachineEvents()
        events.allFramesDone = { _ in
            box.rig?.frameReady.signal()
            box.rig?.go.wait()
        }
        session = try TrackingSession(system: system, config: config, plan: plan, tile: tile, migration: migration, events: events)
        sink = session.makeDisplaySink(name: "null")
        box.rig = self
        session.machine.start()
        frameReady.wait()
        for _ in 0..<8 { refresh(); step() } // warm up: first frames, first-touch faults
    }

    func step() {
        go.signal()
        frameReady.wait()
    }

    /// One refresh as `ringside run` does it, plus a null present and the stats read.
    @inline(never)
    func refresh() {
        _ = try? session.sync()
        session.read(sink) { _, _ in }
        _ = session.takeIntervalStats()
    }
}

final class RigBox: @unchecked Sendable { weak var rig: LockstepRig? }

nonisolated(unsafe) var rigs: [String: LockstepRig] = [:]
func rig(_ name: String, _ make: () throws -> LockstepRig) -> LockstepRig? {
    if let r = rigs[name] { return r }
    guard let r = try? make() else { return nil }
    rigs[name] = r
    return r
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal, entriesPerSecond],
        warmupIterations: 3,
        maxDuration: .seconds(2),
        maxIterations: 2000
    )

    // The ring walk alone: load-acquire flags, read slot and page, store-release RESET.
    Benchmark("ring walk, 65536 entries") { benchmark in
        let ring = SyntheticRing(count: 65536, pages: hd.byteCount / 4096)
        ring.arm()
        var view = ring.view
        var sum: UInt64 = 0
        let t0 = DispatchTime.now().uptimeNanoseconds
        benchmark.startMeasurement()
        let n = view.harvest { _, page in sum &+= page }
        benchmark.stopMeasurement()
        let t1 = DispatchTime.now().uptimeNanoseconds
        blackHole(sum)
        benchmark.measurement(entriesPerSecond, Int(Double(n) / (Double(t1 - t0) / 1e9) / 1e6))
    }

    // Walk and fold every entry straight into the tile bitmap (no dedupe): the per-entry cost.
    Benchmark("ring walk + fold, 65536 entries, 1920x1080, 64x16 tiles") { benchmark in
        let ring = SyntheticRing(count: 65536, pages: hd.byteCount / 4096)
        let grid = TileGrid(geometry: hd, tile: tile)
        var bitmap = DirtyTileBitmap(count: grid.count)
        ring.arm()
        var view = ring.view
        let t0 = DispatchTime.now().uptimeNanoseconds
        benchmark.startMeasurement()
        let n = view.harvest { _, page in grid.markPage(Int(page), in: &bitmap) }
        benchmark.stopMeasurement()
        let t1 = DispatchTime.now().uptimeNanoseconds
        blackHole(bitmap.popCount)
        benchmark.measurement(entriesPerSecond, Int(Double(n) / (Double(t1 - t0) / 1e9) / 1e6))
    }

    // The harvester's shape for one full-screen frame: walk 2025 entries, dedupe, fold the unique pages.
    Benchmark("ring walk + dedupe + fold, one 1920x1080 frame (2025 pages)") { benchmark in
        let pages = hd.byteCount / 4096
        let ring = SyntheticRing(count: 4096, pages: pages)
        let grid = TileGrid(geometry: hd, tile: tile)
        var bitmap = DirtyTileBitmap(count: grid.count)
        var set = PageSet(pages: pages)
        // Arm only one frame's worth: entries 0..<pages.
        for i in 0..<pages { ring.memory.storeBytes(of: 1, toByteOffset: i * 16, as: UInt32.self) }
        var view = ring.view
        let t0 = DispatchTime.now().uptimeNanoseconds
        benchmark.startMeasurement()
        let n = view.harvest { _, page in set.add(page) }
        for i in 0..<set.n { grid.markPage(Int(set.list[i]), in: &bitmap) }
        set.reset()
        benchmark.stopMeasurement()
        let t1 = DispatchTime.now().uptimeNanoseconds
        blackHole(bitmap.popCount)
        benchmark.measurement(entriesPerSecond, Int(Double(n) / (Double(t1 - t0) / 1e9) / 1e6))
    }

    // Tile copies from a guest-like framebuffer in ordinary memory into the shadow.
    let source = UnsafeMutableRawPointer.allocate(byteCount: hd.byteCount, alignment: 64)
    source.initializeMemory(as: UInt8.self, repeating: 0x5A, count: hd.byteCount)
    let grid = TileGrid(geometry: hd, tile: tile)
    let shadow = ShadowFramebuffer(geometry: hd)
    var sparse = DirtyTileBitmap(count: grid.count)
    for page in stride(from: 0, to: 2025, by: 55) { grid.markPage(page, in: &sparse) } // ~37 pages, as desktop dirties
    var all = DirtyTileBitmap(count: grid.count)
    all.setAll()
    let sparseTiles = sparse.popCount

    Benchmark("copyTiles 1920x1080, \(sparseTiles) tiles (37 scattered pages)") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(shadow.copyTiles(sparse, grid: grid, from: source)) }
    }
    Benchmark("copyTiles 1920x1080, all 2040 tiles") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(shadow.copyTiles(all, grid: grid, from: source)) }
    }
    Benchmark("copyAll 1920x1080 (full mode)") { benchmark in
        for _ in benchmark.scaledIterations { shadow.copyAll(from: source) }
    }
    Benchmark("copyChangedTiles 1920x1080, nothing changed (compare mode)") { benchmark in
        var marks = DirtyTileBitmap(count: grid.count)
        shadow.copyAll(from: source)
        benchmark.startMeasurement()
        blackHole(shadow.copyChangedTiles(grid: grid, from: source, markingInto: &marks))
        benchmark.stopMeasurement()
    }

    // The bulk fold TrackingSession uses: one call per harvested batch.
    Benchmark("markPages (bulk fold), 65536 pages, 1920x1080") { benchmark in
        let pages = (0..<65536).map { UInt64($0 % 2025) }
        var bitmap = DirtyTileBitmap(count: grid.count)
        let t0 = DispatchTime.now().uptimeNanoseconds
        benchmark.startMeasurement()
        pages.withUnsafeBufferPointer { grid.markPages($0, in: &bitmap) }
        benchmark.stopMeasurement()
        let t1 = DispatchTime.now().uptimeNanoseconds
        blackHole(bitmap.popCount)
        benchmark.measurement(entriesPerSecond, Int(Double(pages.count) / (Double(t1 - t0) / 1e9) / 1e6))
    }

    // What ring and bitmap modes copy: exactly the dirty pages, in address order.
    var sparsePages = [UInt64](repeating: 0, count: (2025 + 63) / 64)
    for page in stride(from: 0, to: 2025, by: 55) { sparsePages[page / 64] |= 1 << UInt64(page % 64) }
    Benchmark("copyPages 1920x1080, 37 scattered pages") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(sparsePages.withUnsafeBufferPointer { shadow.copyPages($0, pageSize: 4096, from: source) })
        }
    }

    // End to end on a real guest: one lockstep frame, then one refresh (measured).
    let endToEnd: [(String, String, String, Int, Int, TrackingMode, Bool)] = [
        ("TrackingSession.refresh, idle 1920x1080 ring", "idle", "", 1920, 1080, .ring, false),
        ("TrackingSession.refresh, desktop 1920x1080 ring + migration list", "desktop", "", 1920, 1080, .ring, true),
        ("TrackingSession.refresh, bounce16 1920x1080 ring + migration list", "bounce", "sprites=16", 1920, 1080, .ring, true),
        ("TrackingSession.refresh, desktop 1920x1080 bitmap + migration list", "desktop", "", 1920, 1080, .bitmap, true),
    ]
    for (name, guest, args, w, h, mode, migration) in endToEnd {
        Benchmark(name, configuration: .init(metrics: [.wallClock, .mallocCountTotal, .mallocBytesCount],
                                             warmupIterations: 3, maxDuration: .seconds(2), maxIterations: 1000)) { benchmark in
            guard let r = rig(name, { try LockstepRig(guest: guest, arguments: args, width: w, height: h, mode: mode, migration: migration) }) else {
                benchmark.error("cannot boot \(guest) (needs /dev/kvm and assets/guests/bin; set RINGSIDE_GUEST_DIR)")
                return
            }
            r.step()
            benchmark.startMeasurement()
            r.refresh()
            benchmark.stopMeasurement()
        }
    }
}
