import Foundation
import KVM
import Machine
import TestSupport
import Synchronization
import XCTest

/// KVM_EXIT_DIRTY_RING_FULL: the hook's error ends the run; without a hook the machine
/// empties the ring itself.
final class RingFullTests: XCTestCase {
    /// A machine logging RAM into the smallest ring, running a guest that dirties 2000 RAM
    /// pages per frame, so every frame fills the ring several times.
    func ringFillingConfig(frames: Int, cpus: Int = 1) throws -> (KVMSystem, MachineConfig) {
        let system = try requireKVM()
        let caps = try HostCapabilities(system: system)
        let bytes = 4096
        guard max(caps.dirtyRingAcqRelBytes, caps.dirtyRingBytes) >= bytes else { throw XCTSkip("host KVM has no dirty ring") }
        var config = try testConfig("pagewriter", args: "pages=2000 seed=3 fb=0", cpus: cpus, ramMiB: 32, frames: frames)
        config.dirtyLogging = .ring(entries: bytes / HostCapabilities.ringEntryBytes, acquireRelease: caps.dirtyRingAcqRelBytes >= bytes)
        config.logRAM = true
        return (system, config)
    }

    func testAnErrorFromTheRingFullHookFailsTheRunWithThatErrorAndStopsEveryVCPU() throws {
        let cpus = min(2, try HostCapabilities(system: try requireKVM()).usableVCPUs)
        let (system, config) = try ringFillingConfig(frames: 1000, cpus: cpus)
        let thrown = KVMError.ioctl(.resetDirtyRings, errno: EIO)
        let calls = Counter()
        var events = MachineEvents()
        events.dirtyRingFull = { _ throws(KVMError) in
            calls.increment()
            throw thrown
        }
        let m = try Machine(system: system, config: config, events: events)
        m.start()
        guard let outcome = m.waitForEnd() else { return XCTFail("the run did not end after the hook threw") }
        guard case .failed(let error) = outcome else { return XCTFail("expected .failed, got \(outcome)") }
        XCTAssertEqual(error, thrown, "the hook's error is kept")
        XCTAssertGreaterThanOrEqual(calls.value, 1)
        XCTAssertLessThan(m.frameCounts.max() ?? 0, 1000, "no vCPU ran on to its frame limit")
    }

    func testWithoutAHookTheMachineEmptiesAFullRingAndRunsOn() throws {
        let (system, config) = try ringFillingConfig(frames: 20)
        let m = try Machine(system: system, config: config)
        m.start()
        guard let outcome = m.waitForEnd() else { return XCTFail("the guest did not finish its frames") }
        guard case .framesCompleted = outcome else { return XCTFail("expected .framesCompleted, got \(outcome)") }
        XCTAssertEqual(m.framesCompleted(cpu: 0), 20)
    }
}

final class Counter: Sendable {
    private let n = Mutex(0)
    func increment() { n.withLock { $0 += 1 } }
    var value: Int { n.withLock { $0 } }
}
