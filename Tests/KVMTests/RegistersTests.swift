import KVM
import TestSupport
import XCTest

/// Register reads and writes carry every field of kvm_regs and kvm_sregs.
final class RegistersTests: XCTestCase {
    func testEveryGeneralRegisterIsWrittenAndReadBack() throws {
        let vm = try requireKVM().createVM()
        let vcpu = try vm.createVCPU(index: 0)
        var r = Registers()
        let paths: [WritableKeyPath<Registers, UInt64>] = [\.rax, \.rbx, \.rcx, \.rdx, \.rsi, \.rdi, \.rsp, \.rbp,
                                                           \.r8, \.r9, \.r10, \.r11, \.r12, \.r13, \.r14, \.r15, \.rip]
        for (i, p) in paths.enumerated() { r[keyPath: p] = 0x1111_0000_0000_0000 &* UInt64(i + 1) &+ UInt64(i) }
        r.rflags = 0x246
        try vcpu.setRegisters(r)
        XCTAssertEqual(try vcpu.registers(), r, "no register is dropped or zeroed on the way")
    }

    func testSpecialRegistersRoundTripIncludingLDTIDTCR2AndCR8() throws {
        let vm = try requireKVM().createVM()
        let vcpu = try vm.createVCPU(index: 0)
        var s = try vcpu.specialRegisters()
        XCTAssertNotEqual(s.apicBase, 0, "KVM's reset value is read, not defaulted")
        s.idt = DescriptorTable(base: 0x7000, limit: 0xFFF)
        s.gdt = DescriptorTable(base: 0x1000, limit: 0x37)
        s.ldt = Segment(base: 0x9000, limit: 0xFF, selector: 0x30, type: 2, s: false)
        s.cr2 = 0xDEAD_B000
        s.cr8 = 3
        try vcpu.setSpecialRegisters(s)
        let back = try vcpu.specialRegisters()
        XCTAssertEqual(back.idt, s.idt)
        XCTAssertEqual(back.gdt, s.gdt)
        XCTAssertEqual(back.ldt.base, 0x9000)
        XCTAssertEqual(back.ldt.selector, 0x30)
        XCTAssertEqual(back.cr2, 0xDEAD_B000)
        XCTAssertEqual(back.cr8, 3)
        XCTAssertEqual(back.apicBase, s.apicBase)
    }
}
