import Foundation
import KVM
import Machine
import TestSupport
import XCTest

/// Each vCPU is owned by its thread; others reach it through a VCPUHandle, and its state
/// only while it is held.
final class VCPUOwnershipTests: XCTestCase {
    func testStateIsRefusedWhileTheVCPURunsAndAllowedWhilePaused() throws {
        let system = try requireKVM()
        let m = try Machine(system: system, config: try testConfig("pattern", width: 64, height: 64))
        let handle = m.vcpu(0)
        let atEntry = try handle.saveState()
        XCTAssertEqual(atEntry.registers.rip, m.config.image.entry, "before start the state is the boot state")
        m.start()
        defer { m.stopAndWait() }
        guard m.waitForFrames(2) else { return }
        XCTAssertThrowsError(try handle.saveState()) { error in
            guard case .vcpuRunning(let cpu, _)? = error as? MachineError else { return XCTFail("\(error)") }
            XCTAssertEqual(cpu, 0)
            XCTAssertTrue("\(error)".contains("pause the machine"), "\(error)")
        }
        XCTAssertThrowsError(try handle.loadState(atEntry)) { XCTAssertTrue("\($0)".contains("while it runs"), "\($0)") }
        XCTAssertThrowsError(try m.snapshot()) { XCTAssertTrue("\($0)".contains("take a snapshot"), "\($0)") }
        guard m.pause(timeout: 60) else { return }
        let paused = try handle.saveState()
        XCTAssertGreaterThanOrEqual(paused.registers.rip, 0x20_0000, "RIP is in the image")
        XCTAssertNoThrow(try m.snapshot())
        let frames = m.framesCompleted(cpu: 0)
        m.resume()
        guard m.waitForFrames(frames + 2) else { return }
        XCTAssertThrowsError(try handle.saveState(), "refused again once resumed")
    }

    func testLoadingTheBootStateWhilePausedRestartsTheGuestFromItsEntry() throws {
        let system = try requireKVM()
        let lines = LineLog()
        var events = MachineEvents()
        events.consoleLine = { _, line in lines.append(line) }
        let m = try Machine(system: system, config: try testConfig("pattern", width: 64, height: 64), events: events)
        let boot = try m.vcpu(0).saveState()
        m.start()
        defer { m.stopAndWait() }
        guard m.waitForFrames(3), m.pause(timeout: 60) else { return }
        try m.vcpu(0).loadState(boot)
        m.resume()
        waitFor("the guest to announce itself a second time: \(lines.all)") { lines.all.filter { $0.hasPrefix("pattern:") }.count >= 2 }
        XCTAssertEqual(lines.all.filter { $0.hasPrefix("pattern:") }.count, 2, "the guest announced itself again: \(lines.all)")
    }

    func testKickedVCPUReEntersTheGuestAndKeepsRunning() throws {
        let system = try requireKVM()
        let m = try Machine(system: system, config: try testConfig("pattern", width: 64, height: 64))
        m.vcpu(0).kick() // before start: harmless
        m.start()
        defer { m.stopAndWait() }
        // Kicks spread over frames: each between two frames the vCPU completed.
        for _ in 0..<50 {
            let before = m.framesCompleted(cpu: 0)
            m.vcpu(0).kick()
            guard m.waitForFrames(before + 1) else { return }
        }
        let frames = m.framesCompleted(cpu: 0)
        XCTAssertNil(m.finishedOutcome, "kicks do not end the run")
        m.waitForFrames(frames + 2) // "frames still complete after the kicks"
    }
}
