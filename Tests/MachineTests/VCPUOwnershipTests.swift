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
        defer { m.stop(); m.wait() }
        while m.framesCompleted(cpu: 0) < 2 { usleep(1000) }
        XCTAssertThrowsError(try handle.saveState()) { error in
            guard case .vcpuRunning(let cpu, _)? = error as? MachineError else { return XCTFail("\(error)") }
            XCTAssertEqual(cpu, 0)
            XCTAssertTrue("\(error)".contains("pause the machine"), "\(error)")
        }
        XCTAssertThrowsError(try handle.loadState(atEntry)) { XCTAssertTrue("\($0)".contains("while it runs"), "\($0)") }
        XCTAssertThrowsError(try m.snapshot()) { XCTAssertTrue("\($0)".contains("take a snapshot"), "\($0)") }
        m.pause()
        let paused = try handle.saveState()
        XCTAssertGreaterThanOrEqual(paused.registers.rip, 0x20_0000, "RIP is in the image")
        XCTAssertNoThrow(try m.snapshot())
        let frames = m.framesCompleted(cpu: 0)
        m.resume()
        while m.framesCompleted(cpu: 0) < frames + 2 { usleep(1000) }
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
        defer { m.stop(); m.wait() }
        while m.framesCompleted(cpu: 0) < 3 { usleep(1000) }
        m.pause()
        try m.vcpu(0).loadState(boot)
        m.resume()
        let deadline = Date(timeIntervalSinceNow: 10)
        while lines.all.filter({ $0.hasPrefix("pattern:") }).count < 2 && Date() < deadline { usleep(1000) }
        XCTAssertEqual(lines.all.filter { $0.hasPrefix("pattern:") }.count, 2, "the guest announced itself again: \(lines.all)")
    }

    func testKickedVCPUReEntersTheGuestAndKeepsRunning() throws {
        let system = try requireKVM()
        let m = try Machine(system: system, config: try testConfig("pattern", width: 64, height: 64))
        m.vcpu(0).kick() // before start: harmless
        m.start()
        defer { m.stop(); m.wait() }
        for _ in 0..<50 { m.vcpu(0).kick(); usleep(200) }
        let frames = m.framesCompleted(cpu: 0)
        usleep(20_000)
        XCTAssertNil(m.finishedOutcome, "kicks do not end the run")
        XCTAssertGreaterThan(m.framesCompleted(cpu: 0), frames, "frames still complete after the kicks")
    }
}
