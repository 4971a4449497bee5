import Foundation
import KVM
import Machine
import TestSupport
import XCTest

/// A paused machine holds every vCPU until it resumes, wherever each was when the pause came:
/// in the guest, at its pacing hold, or waiting at a lockstep doorbell (where the last vCPU
/// to arrive may release it while the machine is paused).
final class PauseInLockstepTests: XCTestCase {
    func testEveryVCPUStaysHeldWhilePausedEvenAtALockstepDoorbell() throws {
        let system = try requireKVM()
        guard try HostCapabilities(system: system).usableVCPUs >= 2 else { throw XCTSkip("host allows one vCPU") }
        var config = try testConfig("pattern", width: 64, height: 64, cpus: 2)
        config.lockstep = true
        let m = try Machine(system: system, config: config)
        m.start()
        defer { m.stop(); m.wait() }
        for round in 0..<40 {
            m.pause()
            let frames = m.frameCounts
            XCTAssertNoThrow(try m.snapshot(), "round \(round): every vCPU is held once pause() returns")
            XCTAssertNoThrow(try m.vcpu(1).saveState(), "round \(round)")
            XCTAssertEqual(m.frameCounts, frames, "round \(round): nothing ran while paused")
            XCTAssertLessThanOrEqual(frames.max()! - frames.min()!, 1, "round \(round): lockstep keeps the vCPUs within a frame")
            m.resume()
            let deadline = Date(timeIntervalSinceNow: 30)
            while m.framesCompletedByEveryVCPU <= frames.max()! {
                guard Date() < deadline, m.finishedOutcome == nil else {
                    return XCTFail("round \(round): no frame after resume (at \(m.frameCounts), outcome \(String(describing: m.finishedOutcome)))")
                }
                usleep(200)
            }
        }
    }
}
