import Foundation
import KVM
import Machine
import TestSupport
import Synchronization
import XCTest

/// Lockstep's promise (`MachineEvents.allFramesDone`): it runs for frame f once every vCPU has
/// finished its doorbell of frame f, the VMM's part included (counters page published,
/// `frameDone` returned, input delivered), so what it reads is memory nothing else writes.
final class LockstepMeetTests: XCTestCase {
    /// vCPU 1's doorbell work is slow (its `frameDone` sleeps): a vCPU 0 ringing meanwhile
    /// must wait for it rather than take vCPU 1's raised frame count as its arrival. Before
    /// the meet counted arrivals, vCPU 0 ran `allFramesDone` beside vCPU 1's counters-page
    /// write, which a migration mirror checked there saw as a page changed but not listed.
    func testAllFramesDoneWaitsForEveryVCPUsDoorbellWork() throws {
        let system = try requireKVM()
        if try HostCapabilities(system: system).usableVCPUs < 2 { throw XCTSkip("host allows fewer than 2 vCPUs") }
        let frames = 40
        var config = try testConfig("pattern", cpus: 2, frames: frames)
        config.lockstep = true
        let log = DoorbellLog()
        var events = MachineEvents()
        events.frameDone = { cpu, frame in
            if cpu == 1 { usleep(3_000) }
            log.finished(cpu: cpu, frame: frame)
        }
        events.allFramesDone = { frame in log.allDone(frame: frame) }
        let m = try Machine(system: system, config: config, events: events)
        m.start()
        guard case .framesCompleted? = m.waitForEnd() else { return XCTFail("pattern did not reach frame \(frames)") }
        XCTAssertEqual(log.problems, [], "allFramesDone(f) ran while a vCPU was still in its doorbell of frame f")
        XCTAssertEqual(log.released, Array(1...frames), "allFramesDone ran once per frame, in order")
    }
}

private final class DoorbellLog: Sendable {
    private struct State {
        var done = [0, 0]
        var problems: [String] = []
        var released: [Int] = []
    }
    private let state = Mutex(State())

    func finished(cpu: Int, frame: Int) { state.withLock { $0.done[cpu] = frame } }

    func allDone(frame: Int) {
        state.withLock { s in
            s.released.append(frame)
            if s.done != [frame, frame] { s.problems.append("frame \(frame): frameDone had returned for frames \(s.done)") }
        }
    }

    var problems: [String] { state.withLock { $0.problems } }
    var released: [Int] { state.withLock { $0.released } }
}
