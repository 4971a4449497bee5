import Input
@testable import LiveMigration
import Machine
import MigrationWire
import Testing
import TestSupport

/// The rules LiveMigration applies without a connection: the destination's machine config from
/// the stream, the device state from the wire, and when pre-copy hands over.
@Suite("Migration rules")
struct MigrationRulesTests {
    static func wire(width: UInt32 = 640, height: UInt32 = 400, pitch: UInt32 = 640 * 4) -> MigrationConfig {
        MigrationConfig(imageName: "pattern", image: [], imageDigest: 0, arguments: "a=1", ramBytes: 64 << 20, cpus: 2,
                        width: width, height: height, pitch: pitch, guestHz: 30, tracking: "ring", ringEntries: 4096,
                        tileWidth: 64, tileHeight: 16, verify: false)
    }

    static func image() throws -> GuestImage { try GuestCatalog.load(guestAsset("bin/pattern.elf")) }

    @Test func theDestinationBuildsTheSourcesMachine() throws {
        var w = Self.wire()
        w.maxWidth = 1920
        w.maxHeight = 1080
        let c = try w.machineConfig(image: Self.image())
        #expect(c.arguments == "a=1" && c.ramBytes == 64 << 20 && c.cpus == 2 && c.guestHz == 30)
        #expect(c.width == 640 && c.height == 400)
        #expect(c.pitch == nil, "a pitch of width * 4 is the default")
        #expect(c.maxModeSize == (1920, 1080))
    }

    @Test func aPaddedPitchAndASmallLargestModeAreKeptSensibly() throws {
        var w = Self.wire(pitch: 640 * 4 + 64)
        w.maxWidth = 320 // smaller than the mode in force: the slot must still hold that mode
        w.maxHeight = 200
        let c = try w.machineConfig(image: Self.image())
        #expect(c.pitch == 640 * 4 + 64)
        #expect(c.maxModeSize == (640, 400))
    }

    @Test func aLargestModeOutOfRangeIsRefusedWithOneLine() throws {
        var w = Self.wire()
        w.maxWidth = 7681
        w.maxHeight = 100
        #expect(throws: IncomingConfigError("the source's largest mode 7681x100 is out of range (at most 7680x4320)")) {
            try w.machineConfig(image: Self.image())
        }
    }

    @Test func aGuestOverTheMemoryLimitIsRefusedWithOneLine() throws {
        #expect(throws: IncomingConfigError("the guest has 64 MiB of RAM; this destination takes at most 32 MiB (--memory-limit)")) {
            try Self.wire().machineConfig(image: Self.image(), memoryLimit: 32 << 20)
        }
        _ = try Self.wire().machineConfig(image: Self.image(), memoryLimit: 64 << 20) // exactly the limit is fine
    }

    @Test func theDeviceStateComesBackAsTheMachinesState() throws {
        var d = DeviceState(frames: [7, 9], uptimeNanos: 123,
                            waitingInput: [WaitingInputEvent(type: 1, code: 30, value: 1, x: 0, y: 0)])
        (d.modeWidth, d.modeHeight, d.modePitch) = (800, 600, 3200)
        d.consoleUnfinished = [Array("half a li".utf8), []]
        let s = try d.machineState(vcpuCount: 2)
        #expect(s.frameCounts == [7, 9] && s.uptimeNanos == 123)
        #expect(s.inputWaiting == [.key(code: 30, down: true)])
        #expect(s.displayMode == DisplayMode(width: 800, height: 600, pitch: 3200))
        #expect(s.consoleUnfinished == d.consoleUnfinished)
        #expect(try DeviceState(frames: [1], uptimeNanos: 0).machineState(vcpuCount: 1).displayMode == nil, "0x0 keeps the config's mode")
    }

    @Test func aDeviceStateThatDoesNotFitIsAProtocolError() {
        #expect(throws: MigrationError.self) { try DeviceState(frames: [1, 2, 3], uptimeNanos: 0).machineState(vcpuCount: 2) }
        let bad = DeviceState(frames: [1], uptimeNanos: 0, waitingInput: [WaitingInputEvent(type: 99, code: 0, value: 0, x: 0, y: 0)])
        do {
            _ = try bad.machineState(vcpuCount: 1)
            Issue.record("an event of type 99 was accepted")
        } catch {
            #expect("\(error)" == "protocol error: waiting input event 0 is not an event (type 99, code 0, value 0)")
        }
    }

    @Test func preCopyHandsOverOnceTheRestFitsTheBudget() {
        let budget = DowntimeBudget(maxDowntimeSeconds: 0.01, maxRounds: 3)
        let rate = Double(100 * DowntimeBudget.bytesPerPage) // 100 pages a second
        #expect(budget.expectedSeconds(pagesLeft: 1, bytesPerSecond: rate) == 0.01)
        guard case .handOver = budget.decide(roundsDone: 1, pagesLeft: 1, bytesPerSecond: rate) else {
            Issue.record("one page at 100 pages/s fits 10 ms"); return
        }
        guard case .anotherRound = budget.decide(roundsDone: 2, pagesLeft: 2, bytesPerSecond: rate) else {
            Issue.record("two pages do not fit, and a round is left"); return
        }
        guard case .giveUp(let e) = budget.decide(roundsDone: 3, pagesLeft: 2, bytesPerSecond: rate) else {
            Issue.record("the rounds ran out"); return
        }
        #expect("\(e)".hasPrefix("did not converge in 3 rounds: 2 pages still dirty would take 20 ms"))
    }
}
