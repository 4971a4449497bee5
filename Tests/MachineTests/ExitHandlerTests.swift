import Foundation
import Input
import KVM
@testable import Machine
import Synchronization
import XCTest

/// Exit handling as a function over data, driven with fake exits: no VM, no vCPU thread.
/// The devices are the machine's own, over plain memory standing in for the guest's RAM.
final class ExitHandlerTests: XCTestCase {
    func testADoorbellCountsTheFramePublishesTheCountersAndHoldsUntilTheNextTick() throws {
        let rig = try DeviceRig(cpus: 2, guestHz: 100) // a tick every 10 ms
        let start: UInt64 = 5_000_000_000
        var handler = rig.handler(cpu: 1, start: start)
        let first = handler.handle(.portOut(port: GuestLayout.Port.frameDoorbell, size: 4, value: 1), now: start + 3_000_000)
        XCTAssertEqual(first, .frameDone(frame: 1, last: false, holdUntil: start + 10_000_000), "held until the first tick")
        XCTAssertEqual(rig.doorbell.frameCounts, [0, 1], "the frame is counted for the vCPU that rang")
        XCTAssertEqual(rig.counter(cpu: 1), 1, "the counters page shows the frame before the guest runs on")
        XCTAssertEqual(rig.heard, ["frameDone 1 1"])
        let second = handler.handle(.portOut(port: GuestLayout.Port.frameDoorbell, size: 4, value: 2), now: start + 12_000_000)
        XCTAssertEqual(second, .frameDone(frame: 2, last: false, holdUntil: start + 20_000_000), "then the next tick, not 10 ms after the doorbell")
        XCTAssertEqual(rig.counter(cpu: 1), 2)
        XCTAssertEqual(rig.counter(cpu: 0), 0, "another vCPU's counter is untouched")
    }

    func testAFreeRunningDoorbellDoesNotHoldAndTheLimitsFrameIsTheLast() throws {
        let rig = try DeviceRig(cpus: 1, guestHz: 0)
        var handler = rig.handler(cpu: 0, frameLimit: 2)
        let doorbell = VCPUExit.portOut(port: GuestLayout.Port.frameDoorbell, size: 4, value: 0)
        XCTAssertEqual(handler.handle(doorbell, now: 0), .frameDone(frame: 1, last: false, holdUntil: nil))
        XCTAssertEqual(handler.handle(doorbell, now: 0), .frameDone(frame: 2, last: true, holdUntil: nil))
    }

    func testAConsoleLineIsToldAtItsNewline() throws {
        let rig = try DeviceRig(cpus: 2)
        var handler = rig.handler(cpu: 1)
        for byte in Array("hello\r\n".utf8) {
            XCTAssertEqual(handler.handle(.portOut(port: GuestLayout.Port.debugConsole, size: 1, value: UInt32(byte)), now: 0), .reenter)
        }
        XCTAssertEqual(rig.heard, ["console 1 hello"], "one line, the carriage return dropped")
        _ = handler.handle(.portOut(port: GuestLayout.Port.debugConsole, size: 1, value: UInt32(UInt8(ascii: "x"))), now: 0)
        XCTAssertEqual(rig.console.lastLine, "hello")
        XCTAssertEqual(rig.console.unfinished, [nil, "x"])
        XCTAssertEqual(rig.console.lastWords(cpu: 1), "hello")
        XCTAssertNil(rig.console.lastWords(cpu: 0), "vCPU 0 printed nothing")
    }

    func testTheExitPortEndsTheRunWithItsStatusAndTheYieldPortYields() throws {
        let rig = try DeviceRig(cpus: 1)
        var handler = rig.handler(cpu: 0)
        XCTAssertEqual(handler.handle(.portOut(port: GuestLayout.Port.exit, size: 1, value: 3), now: 0), .guestExit(status: 3))
        XCTAssertEqual(handler.handle(.portOut(port: GuestLayout.Port.exit, size: 4, value: 0x1_0000), now: 0), .guestExit(status: 0x1_0000))
        XCTAssertEqual(handler.handle(.portOut(port: GuestLayout.Port.yield, size: 1, value: 0), now: 0), .yield)
        XCTAssertEqual(rig.heard, [])
    }

    func testDISPIRegistersAreReadAndWrittenThroughTheBus() throws {
        let rig = try DeviceRig(cpus: 2)
        var handler = rig.handler(cpu: 0)
        func out(_ port: UInt16, _ value: UInt32) -> ExitAction { handler.handle(.portOut(port: port, size: 2, value: value), now: 0) }
        func inw(_ port: UInt16) -> ExitAction { handler.handle(.portIn(port: port, size: 2), now: 0) }
        XCTAssertEqual(out(DispiDevice.indexPort, 0), .reenter)
        XCTAssertEqual(inw(DispiDevice.indexPort), .completeIn(0), "the index reads back")
        XCTAssertEqual(inw(DispiDevice.dataPort), .completeIn(0xB0C5), "ID")
        XCTAssertEqual(out(DispiDevice.indexPort, 1), .reenter)
        XCTAssertEqual(inw(DispiDevice.dataPort), .completeIn(320), "XRES is the boot width")
        rig.drainWrites()
        for (index, value) in [(4, 0), (1, 256), (2, 128), (3, 32), (4, 0x41)] as [(UInt32, UInt32)] {
            XCTAssertEqual(out(DispiDevice.indexPort, index), .reenter)
            XCTAssertEqual(out(DispiDevice.dataPort, value), .reenter)
        }
        XCTAssertEqual(rig.heard, ["modeSet 0 256x128"])
        XCTAssertEqual(rig.dispi.snapshot.mode, DisplayMode(width: 256, height: 128))
        XCTAssertEqual(rig.dispi.snapshot.serial, 1)
        XCTAssertTrue(rig.drainWrites().contains(GuestLayout.bootInfo / 4096), "the boot info was rewritten before the out completed")
        XCTAssertEqual(out(DispiDevice.indexPort, 1), .reenter)
        XCTAssertEqual(out(DispiDevice.dataPort, 9999), .reenter)
        XCTAssertEqual(out(DispiDevice.indexPort, 4), .reenter)
        XCTAssertEqual(out(DispiDevice.dataPort, 0x41), .reenter)
        XCTAssertEqual(rig.heard.count, 2)
        XCTAssertTrue(rig.heard.last?.hasPrefix("modeRefused 0 mode 9999x128") ?? false, "\(rig.heard)")
        XCTAssertEqual(rig.dispi.snapshot.mode, DisplayMode(width: 256, height: 128), "a refused mode leaves the one in force")
    }

    func testAnUnknownPortReadsAllOnesAndDropsWrites() throws {
        let rig = try DeviceRig(cpus: 1)
        var handler = rig.handler(cpu: 0)
        XCTAssertEqual(handler.handle(.portIn(port: 0x80, size: 4), now: 0), .completeIn(0xFFFF_FFFF))
        XCTAssertEqual(handler.handle(.portIn(port: GuestLayout.Port.frameDoorbell, size: 1), now: 0), .completeIn(0xFFFF_FFFF),
                       "a write-only port reads like an empty one")
        rig.drainWrites()
        XCTAssertEqual(handler.handle(.portOut(port: 0x80, size: 1, value: 7), now: 0), .reenter)
        XCTAssertEqual(rig.heard, [])
        XCTAssertEqual(rig.drainWrites(), [], "nothing was written")
        XCTAssertEqual(rig.doorbell.frameCounts, [0])
    }

    func testExitsTheGuestShouldNotMakeEndTheRunAndAKickReenters() throws {
        let rig = try DeviceRig(cpus: 1)
        var handler = rig.handler(cpu: 0)
        XCTAssertEqual(handler.handle(.interrupted, now: 0), .reenter)
        XCTAssertEqual(handler.handle(.dirtyRingFull, now: 0), .harvestDirtyRing)
        for exit: VCPUExit in [.shutdown, .halt, .internalError(suberror: 1), .failEntry(reason: 2),
                               .mmio(address: 0xDEAD_0000, isWrite: true, length: 4), .unknown(reason: 99)] {
            XCTAssertEqual(handler.handle(exit, now: 0), .crash(exit))
        }
    }
}

/// The port bus itself: which device answers, and what an `in` finds when none does.
final class PortBusTests: XCTestCase {
    private struct Register: PortDevice {
        let ports: ClosedRange<UInt16> = 0x60...0x61
        func read(port: UInt16, cpu: Int, data: inout PortData) { data.value = UInt32(port) << 8 | UInt32(data.size) }
        func write(port: UInt16, cpu: Int, data: PortData) -> PortAction { .exit(status: data.value &+ UInt32(cpu)) }
    }

    private struct WriteOnly: PortDevice {
        let ports: ClosedRange<UInt16> = 0x70...0x70
        func write(port: UInt16, cpu: Int, data: PortData) -> PortAction { .yield }
    }

    func testDevicesFillTheDataOfAnInAndTakeAnOut() {
        let bus = PortBus([WriteOnly(), Register()])
        XCTAssertEqual(bus.read(port: 0x61, size: 2, cpu: 0), 0x6102, "the device filled the data, knowing port and width")
        XCTAssertEqual(bus.write(port: 0x60, size: 4, value: 40, cpu: 2), .exit(status: 42))
        XCTAssertEqual(bus.read(port: 0x70, size: 1, cpu: 0), 0xFFFF_FFFF, "a write-only device leaves all ones")
        XCTAssertEqual(bus.write(port: 0x70, size: 1, value: 0, cpu: 0), .yield)
        XCTAssertEqual(bus.read(port: 0x62, size: 4, cpu: 0), 0xFFFF_FFFF, "past the device's range: empty")
        XCTAssertEqual(bus.write(port: 0x5F, size: 4, value: 1, cpu: 0), .none)
        XCTAssertNil(bus.device(at: 0x71))
    }

    func testTheMachinesDevicesEachHaveTheirPorts() throws {
        let rig = try DeviceRig(cpus: 1)
        XCTAssertTrue(rig.bus.device(at: GuestLayout.Port.debugConsole) is ConsolePort)
        XCTAssertTrue(rig.bus.device(at: GuestLayout.Port.frameDoorbell) is DoorbellPort)
        XCTAssertTrue(rig.bus.device(at: GuestLayout.Port.exit) is ExitPort)
        XCTAssertTrue(rig.bus.device(at: GuestLayout.Port.yield) is YieldPort)
        XCTAssertTrue(rig.bus.device(at: DispiDevice.indexPort) is DispiPorts)
        XCTAssertTrue(rig.bus.device(at: DispiDevice.dataPort) is DispiPorts)
    }
}

/// A machine's port devices over plain memory standing in for guest RAM (no VM), wired as
/// `Machine` wires them, with a log of what their callbacks were told.
final class DeviceRig: Sendable {
    let ram: GuestMemory
    let log: GuestWriteLog
    let console: ConsolePort
    let doorbell: DoorbellPort
    let dispi: DispiPorts
    let bus: PortBus
    let guestHz: Double
    private let told = Told()

    init(cpus: Int, guestHz: Double = 0) throws {
        self.guestHz = guestHz
        ram = try GuestMemory(size: Int(GuestLayout.minRAM), name: "test RAM")
        let slot = MemorySlot(id: GuestLayout.ramSlot, name: "RAM", guestPhysicalAddress: 0, memory: ram)
        log = GuestWriteLog(pageCounts: [slot.pageCount])
        let writer = GuestWriter(slots: SlotTable([slot], logged: [false]), log: log)
        var events = MachineEvents()
        let told = told
        events.consoleLine = { cpu, line in told.append("console \(cpu) \(line)") }
        events.frameDone = { cpu, frame in told.append("frameDone \(cpu) \(frame)") }
        events.modeSet = { cpu, mode in told.append("modeSet \(cpu) \(mode)") }
        events.modeRefused = { cpu, why in told.append("modeRefused \(cpu) \(why)") }
        console = ConsolePort(cpus: cpus, consoleLine: events.consoleLine)
        doorbell = DoorbellPort(cpus: cpus, counters: CountersPage(writer: writer, clock: GuestClock(), period: Pacer.period(hz: guestHz)),
                                input: GuestInputQueue(writer: writer), frameDone: events.frameDone)
        dispi = DispiPorts(device: DispiDevice(mode: DisplayMode(width: 320, height: 200), maxWidth: 640, maxHeight: 480, slotBytes: 2 << 20),
                           cpus: cpus, bootInfo: writer, events: events)
        bus = PortBus([console, doorbell, ExitPort(), YieldPort(), dispi])
    }

    func handler(cpu: Int, frameLimit: Int? = nil, start: UInt64 = 0) -> ExitHandler {
        ExitHandler(cpu: cpu, bus: bus, frameLimit: frameLimit, pacer: Pacer(hz: guestHz, start: start))
    }

    /// What the callbacks were told, in order.
    var heard: [String] { told.lines.withLock { $0 } }

    /// vCPU `cpu`'s frame count as the guest reads it in the counters page.
    func counter(cpu: Int) -> UInt64 {
        ram.pointer(at: Int(GuestLayout.counters + GuestLayout.frameCounterOffset(cpu: cpu))).load(as: UInt64.self)
    }

    /// The RAM pages the devices wrote since the last call.
    @discardableResult
    func drainWrites() -> [UInt64] {
        var pages: [UInt64] = []
        log.drain { _, page in pages.append(page) }
        return pages
    }
}

/// What the devices' callbacks were told, from whichever thread.
private final class Told: Sendable {
    let lines = Mutex<[String]>([])
    func append(_ line: String) { lines.withLock { $0.append(line) } }
}
