import KVM
@testable import Machine
import TestSupport
import XCTest

/// `KVM_EXIT_IO` for an `in` leaves the instruction unfinished until the next `KVM_RUN`;
/// saving the state must finish it first, or a restored guest would repeat or lose it.
final class PendingExitTests: XCTestCase {
    /// mov edx, 0x80; in eax, dx; jmp $ — as a one-segment ELF image at 0x200000.
    static let code: [UInt8] = [0xBA, 0x80, 0x00, 0x00, 0x00, 0xED, 0xEB, 0xFE]

    func image() throws -> GuestImage {
        var b = [UInt8](repeating: 0, count: 120 + Self.code.count)
        func put<T: FixedWidthInteger>(_ v: T, _ o: Int) { withUnsafeBytes(of: v.littleEndian) { for (i, x) in $0.enumerated() { b[o + i] = x } } }
        b[0] = 0x7F; b[1] = 0x45; b[2] = 0x4C; b[3] = 0x46; b[4] = 2; b[5] = 1; b[6] = 1
        put(UInt16(2), 16); put(UInt16(62), 18); put(UInt32(1), 20)
        put(UInt64(0x20_0000), 24); put(UInt64(64), 32); put(UInt16(64), 52); put(UInt16(56), 54); put(UInt16(1), 56)
        put(UInt32(1), 64); put(UInt32(5), 68); put(UInt64(120), 72); put(UInt64(0x20_0000), 80); put(UInt64(0x20_0000), 88)
        put(UInt64(Self.code.count), 96); put(UInt64(4096), 104); put(UInt64(4096), 112)
        for (i, x) in Self.code.enumerated() { b[120 + i] = x }
        return try GuestImage(bytes: b, path: "in-guest", name: "in-guest")
    }

    func testSavingAfterAnInExitFinishesTheInstruction() throws {
        let system = try requireKVM()
        var config = MachineConfig(image: try image())
        config.ramBytes = 16 << 20
        config.width = 64; config.height = 64
        let vm = try system.createVM()
        let ram = try GuestMemory(size: Int(config.ramBytes), name: "guest RAM")
        let fb = try GuestMemory(size: config.framebufferSlotBytes, name: "framebuffer")
        let slots = [MemorySlot(id: GuestLayout.ramSlot, name: "RAM", guestPhysicalAddress: 0, memory: ram),
                     MemorySlot(id: GuestLayout.framebufferSlot, name: "framebuffer", guestPhysicalAddress: GuestLayout.framebuffer, memory: fb)]
        let writer = GuestWriter(slots: SlotTable(slots, logged: [false, false]), log: GuestWriteLog(pageCounts: slots.map(\.pageCount)))
        BootSetup.load(config.image, with: writer)
        BootSetup.writeTables(with: writer, ram: ram, config: config)
        try vm.setMemoryRegion(slot: GuestLayout.ramSlot, guestPhysicalAddress: 0, memory: ram, logDirtyPages: false)
        try vm.setMemoryRegion(slot: GuestLayout.framebufferSlot, guestPhysicalAddress: GuestLayout.framebuffer, memory: fb, logDirtyPages: false)
        let vcpu = try vm.createVCPU(index: 0)
        try BootSetup.enterUserMode(vcpu, entry: config.image.entry)
        var exit = try vcpu.runOnce()
        while exit == .interrupted { exit = try vcpu.runOnce() }
        XCTAssertEqual(exit, .portIn(port: 0x80, size: 4))
        vcpu.answerPortIn(PortBus([]).read(port: 0x80, size: 4, cpu: 0)) // as the vCPU thread does: no device, all ones
        let state = try vcpu.saveState()
        XCTAssertEqual(state.registers.rip, 0x20_0006, "RIP is past the in")
        XCTAssertEqual(state.registers.rax & 0xFFFF_FFFF, 0xFFFF_FFFF, "the value the VMM supplied is in EAX")
        withExtendedLifetime((vm, ram, fb)) {}
    }
}
