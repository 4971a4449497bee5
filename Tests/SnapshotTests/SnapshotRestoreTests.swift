import Display
import Foundation
import KVM
import Machine
@testable import Snapshot
import TestSupport
import Tracking
import XCTest

/// Snapshots of a real guest on real KVM: a full snapshot and an incremental one restore into
/// a new machine holding exactly the paused guest's memory, vCPU state and counters; a failed
/// write loses no dirty page; a base that is not the last is refused.
final class SnapshotRestoreTests: XCTestCase {
    private struct Guest {
        let system: KVMSystem
        let plan: TrackingPlan
        let session: TrackingSession
        var machine: Machine { session.machine }
    }

    private func boot(_ mode: TrackingMode = .ring, guest: String = "pagewriter", args: String = "") throws -> Guest {
        let system = try requireKVM()
        let caps = try HostCapabilities(system: system)
        let plan = try TrackingPlan.make(mode: mode, ringEntries: 4096, caps: caps, migration: false)
        let session = try TrackingSession(system: system, config: try testConfig(guest, args: args), plan: plan, tile: TileSize(width: 64, height: 16), migration: false)
        session.machine.start()
        addTeardownBlock { session.machine.stop(); session.machine.wait() }
        return Guest(system: system, plan: plan, session: session)
    }

    /// Lets the guest run until it has drawn `frames` more frames, then pauses it.
    private func run(_ g: Guest, frames: Int) throws {
        let target = g.machine.framesCompleted(cpu: 0) + frames
        g.machine.resume()
        let deadline = Date(timeIntervalSinceNow: 60)
        while g.machine.framesCompleted(cpu: 0) < target {
            guard Date() < deadline else { throw XCTSkip("the guest drew fewer than \(frames) frames in 60 s") }
            usleep(2000)
        }
        g.machine.pause()
    }

    private func restore(_ g: Guest, _ files: [String]) throws -> SnapshotRestore.Restored {
        let restored = try SnapshotRestore.restore(files: files) { wire, image in
            try TrackingSession(system: g.system, config: try wire.machineConfig(image: image), plan: g.plan, tile: TileSize(width: 64, height: 16),
                                migration: false, incoming: true)
        }
        addTeardownBlock { restored.session.machine.stop() }
        return restored
    }

    /// The restored machine (not started) holds what the paused original holds.
    private func assertSameGuest(_ a: Machine, _ b: Machine, file: StaticString = #filePath, line: UInt = #line) throws {
        for (x, y) in zip(a.slots, b.slots) {
            XCTAssertEqual(x.memory.size, y.memory.size, file: file, line: line)
            XCTAssertEqual(memcmp(x.memory.base, y.memory.base, x.memory.size), 0, "\(x.name) differs", file: file, line: line)
        }
        XCTAssertEqual(a.frameCounts, b.frameCounts, file: file, line: line)
        XCTAssertEqual(a.displayMode.mode, b.displayMode.mode, file: file, line: line)
        for i in 0..<a.vcpuCount {
            let x = try a.vcpu(i).saveState(), y = try b.vcpu(i).saveState()
            XCTAssertTrue(x.registers == y.registers, "vCPU \(i)'s registers differ", file: file, line: line)
            XCTAssertTrue(x.specialRegisters == y.specialRegisters, "vCPU \(i)'s special registers differ", file: file, line: line)
            XCTAssertTrue(x.floatingPoint == y.floatingPoint, "vCPU \(i)'s floating point state differs", file: file, line: line)
            // The time stamp counter runs on in both VMs (KVM offsets it): every other MSR is equal.
            let tsc: UInt32 = 0x10
            XCTAssertTrue(x.msrs.filter { $0.index != tsc } == y.msrs.filter { $0.index != tsc }, "vCPU \(i)'s MSRs differ", file: file, line: line)
        }
    }

    func testAFullThenIncrementalSnapshotRestoresTheGuestExactly() throws {
        let g = try boot(args: "pages=8")
        let dir = try SnapshotFixtures.tempDir(self)
        try run(g, frames: 20)
        let series = SnapshotSeries(session: g.session, imageBytes: nil)
        let full = try series.write(to: dir + "/a.snap", incrementalFrom: nil)
        XCTAssertEqual(full.header.kind, .full)
        try assertSameGuest(g.machine, try restore(g, [dir + "/a.snap"]).session.machine)
        let before = g.machine.framesCompleted(cpu: 0)
        try run(g, frames: 5)
        let frames = g.machine.framesCompleted(cpu: 0) - before // at least 5: the guest runs free until paused
        let inc = try series.write(to: dir + "/b.snap", incrementalFrom: dir + "/a.snap")
        XCTAssertEqual(inc.header.base, full.header.id)
        XCTAssertEqual(inc.header.sequence, 1)
        // pagewriter writes 8 pages a frame; besides, the VMM writes the counters page and
        // the guest its stack: a few more.
        XCTAssertGreaterThan(inc.pages, 0, "pagewriter dirtied pages in \(frames) frames")
        XCTAssertLessThanOrEqual(inc.pages, frames * 8 + 8, "an incremental snapshot holds the dirtied pages, not every page")
        let restored = try restore(g, [dir + "/a.snap", dir + "/b.snap"])
        XCTAssertEqual(restored.headers.map(\.id), [full.header.id, inc.header.id])
        try assertSameGuest(g.machine, restored.session.machine)
        // A third, after the second.
        try run(g, frames: 10)
        _ = try series.write(to: dir + "/c.snap", incrementalFrom: dir + "/b.snap")
        try assertSameGuest(g.machine, try restore(g, [dir + "/a.snap", dir + "/b.snap", dir + "/c.snap"]).session.machine)
    }

    func testAFailedWriteKeepsTheDirtyPagesForTheNext() throws {
        let g = try boot()
        let dir = try SnapshotFixtures.tempDir(self)
        try run(g, frames: 10)
        let series = SnapshotSeries(session: g.session, imageBytes: nil)
        _ = try series.write(to: dir + "/a.snap", incrementalFrom: nil)
        try run(g, frames: 20)
        XCTAssertThrowsError(try series.write(to: dir + "/missing/b.snap", incrementalFrom: dir + "/a.snap"))
        try run(g, frames: 5)
        _ = try series.write(to: dir + "/b.snap", incrementalFrom: dir + "/a.snap")
        try assertSameGuest(g.machine, try restore(g, [dir + "/a.snap", dir + "/b.snap"]).session.machine)
    }

    func testChainsThatDoNotFitAreRefused() throws {
        let g = try boot()
        let dir = try SnapshotFixtures.tempDir(self)
        try run(g, frames: 5)
        let series = SnapshotSeries(session: g.session, imageBytes: nil)
        XCTAssertThrowsError(try series.write(to: dir + "/x.snap", incrementalFrom: dir + "/a.snap")) {
            XCTAssertEqual("\($0)", "this guest has no snapshot yet to be incremental to: take a full one first")
        }
        _ = try series.write(to: dir + "/a.snap", incrementalFrom: nil)
        _ = try series.write(to: dir + "/b.snap", incrementalFrom: dir + "/a.snap")
        XCTAssertThrowsError(try series.write(to: dir + "/c.snap", incrementalFrom: dir + "/a.snap")) {
            XCTAssertTrue("\($0)".hasPrefix("\(dir)/a.snap is not the last snapshot of this guest (that is \(dir)/b.snap)"), "\($0)")
        }
        XCTAssertThrowsError(try restore(g, [dir + "/b.snap"])) { XCTAssertTrue("\($0)".contains("b.snap: is an incremental snapshot"), "\($0)") }
        XCTAssertThrowsError(try restore(g, [dir + "/a.snap", dir + "/a.snap"])) { XCTAssertTrue("\($0)".contains("a.snap: is a full snapshot"), "\($0)") }
        // A second full snapshot starts a new chain: b no longer continues it.
        _ = try series.write(to: dir + "/a2.snap", incrementalFrom: nil)
        XCTAssertThrowsError(try restore(g, [dir + "/a2.snap", dir + "/b.snap"])) { XCTAssertTrue("\($0)".contains("b.snap: continues snapshot"), "\($0)") }
    }

    func testWithoutAPageListOnlyFullSnapshotsAreTaken() throws {
        let g = try boot(.compare, guest: "pattern")
        let dir = try SnapshotFixtures.tempDir(self)
        try run(g, frames: 5)
        let series = SnapshotSeries(session: g.session, imageBytes: nil)
        _ = try series.write(to: dir + "/a.snap", incrementalFrom: nil)
        try assertSameGuest(g.machine, try restore(g, [dir + "/a.snap"]).session.machine)
        XCTAssertThrowsError(try series.write(to: dir + "/b.snap", incrementalFrom: dir + "/a.snap")) {
            XCTAssertTrue("\($0)".hasPrefix("--tracking compare keeps no list of dirty pages"), "\($0)")
        }
    }
}
