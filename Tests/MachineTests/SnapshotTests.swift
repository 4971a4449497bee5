import Foundation
import KVM
import Machine
import TestSupport
import XCTest

/// Snapshot a machine, restore it into a fresh VM, and it ends on the same picture as a run
/// that was never interrupted.
final class SnapshotTests: XCTestCase {
    /// Runs `config` to its frame limit and returns the ended machine.
    func runToEnd(_ system: KVMSystem, _ config: MachineConfig, restoring snapshot: MachineSnapshot? = nil,
                  file: StaticString = #filePath, line: UInt = #line) throws -> Machine {
        let m = try snapshot.map { try Machine(system: system, config: config, restoring: $0) } ?? Machine(system: system, config: config)
        m.start()
        guard let outcome = m.waitForEnd(file: file, line: line) else { return m }
        guard case .framesCompleted = outcome else { XCTFail("expected .framesCompleted, got \(outcome)", file: file, line: line); return m }
        return m
    }

    func picture(_ m: Machine) -> [UInt8] {
        Array(UnsafeRawBufferPointer(start: m.framebuffer.base, count: m.config.framebufferBytes))
    }

    func config(_ guest: String, width: Int, height: Int, cpus: Int, frames: Int) throws -> MachineConfig {
        var c = try testConfig(guest, width: width, height: height, cpus: cpus, frames: frames)
        c.lockstep = true
        return c
    }

    func requireCPUs(_ system: KVMSystem, _ n: Int) throws {
        let usable = try HostCapabilities(system: system).usableVCPUs
        if usable < n { throw XCTSkip("needs \(n) vCPUs; this host's KVM recommends \(usable)") }
    }

    /// Stops at frame n/2, snapshots, restores into a fresh VM and runs to frame n; returns
    /// the restored machine's and an uninterrupted machine's pictures.
    func halfwayRestore(_ guest: String, width: Int, height: Int, cpus: Int, frames n: Int,
                        file: StaticString = #filePath, line: UInt = #line) throws -> (restored: Machine, uninterrupted: Machine) {
        let system = try requireKVM()
        let first = try runToEnd(system, config(guest, width: width, height: height, cpus: cpus, frames: n / 2), file: file, line: line)
        XCTAssertEqual(first.frameCounts, Array(repeating: n / 2, count: cpus), file: file, line: line)
        let snapshot = try first.snapshot()
        XCTAssertEqual(snapshot.frameCounts, Array(repeating: n / 2, count: cpus), file: file, line: line)
        let full = try config(guest, width: width, height: height, cpus: cpus, frames: n)
        let restoredBeforeStart = try Machine(system: system, config: full, restoring: snapshot)
        XCTAssertEqual(restoredBeforeStart.frameCounts, snapshot.frameCounts, "frame counts continue from the snapshot", file: file, line: line)
        let restored = try runToEnd(system, full, restoring: snapshot, file: file, line: line)
        XCTAssertEqual(restored.frameCounts, Array(repeating: n, count: cpus), "each vCPU stops at frame \(n) exactly", file: file, line: line)
        let uninterrupted = try runToEnd(system, full, file: file, line: line)
        XCTAssertTrue(picture(restored) == picture(uninterrupted), "restored run ends on the uninterrupted run's frame \(n), byte for byte",
                      file: file, line: line)
        return (restored, uninterrupted)
    }

    func assertPatternFrame(_ m: Machine, frame n: Int, file: StaticString = #filePath, line: UInt = #line) {
        let fb = UnsafeRawPointer(m.framebuffer.base)
        var wrong = 0, first: String?
        for y in 0..<m.config.height {
            for x in 0..<m.config.width where pixel(fb, pitch: m.config.framebufferPitch, x: x, y: y) != patternPixel(x: x, y: y, frame: n) {
                wrong += 1
                if first == nil { first = "(\(x), \(y))" }
            }
        }
        XCTAssertEqual(wrong, 0, "pixels differing from pattern frame \(n), first at \(first ?? "-")", file: file, line: line)
    }

    func testPatternRestoredAtHalfwayDrawsFrameNLikeAnUninterruptedRun() throws {
        let (restored, uninterrupted) = try halfwayRestore("pattern", width: 160, height: 100, cpus: 1, frames: 20)
        assertPatternFrame(restored, frame: 20)
        assertPatternFrame(uninterrupted, frame: 20)
    }

    func testDesktopRestoredAtHalfwayMatchesAnUninterruptedRun() throws {
        _ = try halfwayRestore("desktop", width: 640, height: 480, cpus: 1, frames: 40)
    }

    func testTwoVCPUsRestoredAtHalfwayMatchAnUninterruptedRun() throws {
        try requireCPUs(try requireKVM(), 2)
        let (restored, _) = try halfwayRestore("pattern", width: 160, height: 100, cpus: 2, frames: 20)
        assertPatternFrame(restored, frame: 20)
        _ = try halfwayRestore("desktop", width: 640, height: 480, cpus: 2, frames: 40)
    }

    /// Paused at an arbitrary instruction (not at a doorbell): the restored copy and the
    /// original, resumed, both end on the uninterrupted run's picture. One vCPU running
    /// free, and two in lockstep (one may be held at its doorbell, one mid-frame).
    func testASnapshotTakenMidFrameContinuesExactly() throws {
        let system = try requireKVM()
        try assertMidFrameSnapshotContinues(system, cpus: 1, lockstep: false)
        try requireCPUs(system, 2)
        try assertMidFrameSnapshotContinues(system, cpus: 2, lockstep: true)
    }

    func assertMidFrameSnapshotContinues(_ system: KVMSystem, cpus: Int, lockstep: Bool, line: UInt = #line) throws {
        // Free-running, so long enough that the pause after frame 5 lands well before the end
        // even on a loaded host (200 frames were sometimes all done before it).
        let n = 3000
        var c = try testConfig("desktop", width: 640, height: 480, cpus: cpus, frames: n)
        c.lockstep = lockstep
        let original = try Machine(system: system, config: c)
        original.start()
        waitFor("every vCPU to complete frame 5", line: line) { original.framesCompletedByEveryVCPU >= 5 || original.isFinished }
        guard original.pause(timeout: 60, line: line) else { return }
        let snapshot = try original.snapshot()
        original.resume()
        guard case .framesCompleted? = original.waitForEnd(line: line) else { return XCTFail("the original runs on to frame \(n)", line: line) }
        XCTAssertLessThan(snapshot.frameCounts.max() ?? n, n, "the snapshot was taken before the end", line: line)
        let restored = try runToEnd(system, c, restoring: snapshot, line: line)
        let uninterrupted = try runToEnd(system, c, line: line)
        XCTAssertTrue(picture(restored) == picture(uninterrupted), "\(cpus) vCPUs: restored copy ends on frame \(n)", line: line)
        XCTAssertTrue(picture(original) == picture(uninterrupted), "\(cpus) vCPUs: the original, snapshotted and resumed, too", line: line)
    }



    func testASnapshotOfAnotherGeometryIsRefused() throws {
        let system = try requireKVM()
        let m = try Machine(system: system, config: try testConfig("pattern", width: 64, height: 64))
        let snapshot = try m.snapshot()
        XCTAssertThrowsError(try Machine(system: system, config: try testConfig("pattern", width: 128, height: 64), restoring: snapshot)) {
            XCTAssertTrue("\($0)".contains("64x64") && "\($0)".contains("128x64"), "\($0)")
        }
        XCTAssertThrowsError(try Machine(system: system, config: try testConfig("pattern", width: 64, height: 64, ramMiB: 32), restoring: snapshot)) {
            XCTAssertTrue("\($0)".contains("RAM size"), "\($0)")
        }
    }
}
