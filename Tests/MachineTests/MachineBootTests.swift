import KVM
import Machine
import TestSupport
import XCTest

/// Real KVM: boot guests at CPL 3 and check what they drew.
final class MachineBootTests: XCTestCase {
    func run(_ config: MachineConfig, events: MachineEvents = MachineEvents(), seconds: Double = 30) throws -> (Machine, MachineOutcome) {
        let system = try requireKVM()
        let m = try Machine(system: system, config: config, events: events)
        m.start()
        guard let outcome = m.wait(seconds: seconds) else {
            m.stop()
            m.wait()
            XCTFail("guest did not finish in \(seconds) s")
            return (m, .stopped)
        }
        return (m, outcome)
    }

    func testPatternGuestDrawsTheDocumentedPixelsOfFrameN() throws {
        let config = try testConfig("pattern", width: 200, height: 120, frames: 7)
        let (m, outcome) = try run(config)
        guard case .framesCompleted = outcome else { return XCTFail("\(outcome)") }
        XCTAssertEqual(m.framesCompleted(cpu: 0), 7, "--frames N stops the vCPU at exactly its N-th doorbell")
        let fb = UnsafeRawPointer(m.framebuffer.base)
        for (x, y) in [(0, 0), (199, 0), (0, 119), (123, 45), (199, 119)] {
            XCTAssertEqual(pixel(fb, pitch: 800, x: x, y: y), patternPixel(x: x, y: y, frame: 7), "pixel (\(x), \(y))")
        }
    }

    func testPitchLargerThanTheRowIsHonoured() throws {
        let config = try testConfig("pattern", width: 100, height: 50, pitch: 512, frames: 3)
        let (m, outcome) = try run(config)
        guard case .framesCompleted = outcome else { return XCTFail("\(outcome)") }
        let fb = UnsafeRawPointer(m.framebuffer.base)
        XCTAssertEqual(pixel(fb, pitch: 512, x: 99, y: 49), patternPixel(x: 99, y: 49, frame: 3))
        XCTAssertEqual(fb.load(fromByteOffset: 512 * 10 + 400, as: UInt32.self), 0, "the pitch padding stays untouched")
    }

    func testEveryBuiltInGuestRunsFramesWithoutCrashing() throws {
        for name in GuestCatalog.names where name != "fault" {
            let config = try testConfig(name, width: 640, height: 480, frames: 5)
            let lines = LineLog()
            var events = MachineEvents()
            events.consoleLine = { _, line in lines.append(line) }
            let (m, outcome) = try run(config, events: events)
            guard case .framesCompleted = outcome else { XCTFail("\(name): \(outcome)"); continue }
            XCTAssertEqual(m.framesCompleted(cpu: 0), 5, name)
            XCTAssertTrue(lines.all.first?.hasPrefix(name) ?? false, "\(name) announces itself: \(lines.all)")
        }
    }

    func testTwoVCPUsEachRunTheImageWithTheirOwnIndex() throws {
        let system = try requireKVM()
        guard try HostCapabilities(system: system).usableVCPUs >= 2 else { throw XCTSkip("host allows one vCPU") }
        let config = try testConfig("pattern", width: 160, height: 100, cpus: 2, frames: 4)
        let lines = LineLog()
        var events = MachineEvents()
        events.consoleLine = { cpu, line in lines.append("\(cpu): \(line)") }
        let (m, outcome) = try run(config, events: events)
        guard case .framesCompleted = outcome else { return XCTFail("\(outcome)") }
        XCTAssertEqual(m.framesCompleted(cpu: 0), 4)
        XCTAssertEqual(m.framesCompleted(cpu: 1), 4)
        XCTAssertTrue(lines.all.contains { $0.hasPrefix("1: ") && $0.contains("cpu 1/2") }, "\(lines.all)")
        let fb = UnsafeRawPointer(m.framebuffer.base)
        XCTAssertEqual(pixel(fb, pitch: 640, x: 10, y: 10), patternPixel(x: 10, y: 10, frame: 4), "band of vCPU 0")
        XCTAssertEqual(pixel(fb, pitch: 640, x: 10, y: 90), patternPixel(x: 10, y: 90, frame: 4), "band of vCPU 1")
    }

    func testLockstepCallsBackOncePerFrameWithEveryVCPUHeld() throws {
        let system = try requireKVM()
        guard try HostCapabilities(system: system).usableVCPUs >= 2 else { throw XCTSkip("host allows one vCPU; lockstep is about holding several") }
        let cpus = 2
        var config = try testConfig("pattern", width: 64, height: 64, cpus: cpus, frames: 3000)
        config.lockstep = true
        let seen = LineLog()
        let box = MachineBox()
        var events = MachineEvents()
        events.allFramesDone = { frame in
            let counts = (0..<cpus).map { box.machine!.framesCompleted(cpu: $0) }
            seen.append(counts.allSatisfy { $0 == frame } ? "\(frame)" : "\(frame): \(counts)")
        }
        let m = try Machine(system: system, config: config, events: events)
        box.machine = m
        m.start()
        m.wait()
        XCTAssertEqual(seen.all, (1...3000).map(String.init), "one callback per frame, in order, with every vCPU at that frame")
    }

    func testAFaultingGuestIsReportedWithExitRIPAndLastLine() throws {
        for kind in ["ud2", "pf"] {
            let config = try testConfig("fault", args: "kind=\(kind)")
            let (_, outcome) = try run(config)
            guard case .crashed(let crash) = outcome else { XCTFail("\(kind): \(outcome)"); continue }
            XCTAssertEqual(crash.exit, .shutdown, kind)
            XCTAssertNotNil(crash.rip, kind)
            XCTAssertGreaterThanOrEqual(crash.rip ?? 0, 0x20_0000, "RIP points into the image")
            XCTAssertNotNil(crash.lastConsoleLine, "the report carries the guest's last line")
            XCTAssertTrue(crash.description.contains("KVM_EXIT_SHUTDOWN") && crash.description.contains("RIP 0x"), crash.description)
        }
    }

    func testExitPortEndsTheRunWithTheGuestsStatus() throws {
        let config = try testConfig("fault", args: "kind=exit status=5")
        let (_, outcome) = try run(config)
        guard case .guestExit(let status) = outcome else { return XCTFail("\(outcome)") }
        XCTAssertEqual(status, 5)
    }

    func testPacingHoldsTheGuestNearGuestHz() throws {
        var config = try testConfig("idle")
        config.guestHz = 100
        let system = try requireKVM()
        let m = try Machine(system: system, config: config)
        m.start()
        XCTAssertNil(m.wait(seconds: 0.5))
        m.stop()
        m.wait()
        let frames = m.framesCompleted(cpu: 0)
        XCTAssertTrue((30...60).contains(frames), "about 50 frames in 0.5 s at 100 Hz, got \(frames)")
    }

    func testPauseHoldsEveryVCPUOutOfTheGuest() throws {
        let system = try requireKVM()
        let config = try testConfig("pattern", width: 64, height: 64)
        let m = try Machine(system: system, config: config)
        m.start()
        usleep(50_000)
        m.pause()
        let before = m.framesCompleted(cpu: 0)
        usleep(50_000)
        XCTAssertEqual(m.framesCompleted(cpu: 0), before, "no frame completes while paused")
        m.resume()
        usleep(50_000)
        XCTAssertGreaterThan(m.framesCompleted(cpu: 0), before)
        m.stop()
        guard case .stopped = m.wait() else { return XCTFail("stop ends with .stopped") }
    }

    /// A paced vCPU spends most of its time asleep at its doorbell until the next tick; a pause
    /// must wake it rather than wait for that tick (it used to: up to a whole period of
    /// migration downtime). At 1 Hz the tick is about 1 s away, so the margin is wide.
    func testPauseDoesNotWaitForAPacedVCPUsNextTick() throws {
        let system = try requireKVM()
        var config = try testConfig("idle", width: 64, height: 64)
        config.guestHz = 1
        let m = try Machine(system: system, config: config)
        m.start()
        while m.framesCompleted(cpu: 0) < 1 { usleep(1000) } // now asleep until its next tick
        let t0 = Date()
        m.pause()
        XCTAssertLessThan(Date().timeIntervalSince(t0), 0.5, "pause returned without waiting for the next tick, about 1 s away")
        m.stop()
        m.wait()
    }

    func testConfigRangesAreCheckedWithClearMessages() throws {
        var c = try testConfig("idle")
        c.width = 10
        XCTAssertThrowsError(try c.validate(maxVCPUs: 2)) { XCTAssertTrue("\($0)".contains("64...7680")) }
        c = try testConfig("idle")
        c.cpus = 3
        XCTAssertThrowsError(try c.validate(maxVCPUs: 2)) { XCTAssertTrue("\($0)".contains("--cpus 3")) }
        c = try testConfig("idle")
        c.ramBytes = 3 << 20
        XCTAssertThrowsError(try c.validate(maxVCPUs: 2)) { XCTAssertTrue("\($0)".contains("8M")) }
        c = try testConfig("idle")
        XCTAssertNoThrow(try c.validate(maxVCPUs: 2))
    }
}

final class MachineBox: @unchecked Sendable { var machine: Machine? }

final class LineLog: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    func append(_ s: String) { lock.lock(); lines.append(s); lock.unlock() }
    var all: [String] { lock.lock(); defer { lock.unlock() }; return lines }
}
