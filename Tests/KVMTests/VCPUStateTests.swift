import KVM
import TestSupport
import XCTest

/// VCPUState: saved from one VM, loaded into another, and its byte encoding.
final class VCPUStateTests: XCTestCase {
    /// Runs `body` with a vCPU of a fresh VM (a vCPU does not keep its VM alive).
    func withFreshVCPU<R>(_ system: KVMSystem, _ body: (VCPU) throws -> R) throws -> R {
        let vm = try system.createVM()
        return try withExtendedLifetime(vm) { try body(try vm.createVCPU(index: 0)) }
    }

    /// A state with something distinctive in every part that can hold it.
    func distinctiveState(_ vcpu: VCPU) throws -> VCPUState {
        var state = try vcpu.saveState()
        state.registers.rax = 0x1234_5678_9ABC_DEF0
        state.registers.r15 = 0x0F0F_0F0F_0F0F_0F0F
        state.registers.rip = 0x20_1000
        state.specialRegisters.cr2 = 0xBAD_F000
        state.specialRegisters.idt = DescriptorTable(base: 0x8000, limit: 0xFFF)
        for i in state.msrs.indices {
            switch state.msrs[i].index {
            case VCPUState.lstar: state.msrs[i].value = 0xFFFF_8000_0010_0000
            case VCPUState.kernelGSBase: state.msrs[i].value = 0xFFFF_8000_0020_0000
            case VCPUState.sysenterESP: state.msrs[i].value = 0x7000
            default: break
            }
        }
        if case .xsave(var area) = state.floatingPoint {
            for i in 0..<16 { area[160 + i] = UInt8(0xA0 + i) } // XMM0 in the FXSAVE region
            area[512] |= 2 // XSTATE_BV: the SSE component is in the area
            state.floatingPoint = .xsave(area)
        }
        return state
    }

    func testSavedStateCarriesEveryPartThisHostOffers() throws {
        let system = try requireKVM()
        let state = try withFreshVCPU(system) { try $0.saveState() }
        let vcpuMSRs = try withFreshVCPU(system) { try $0.supportedSavedMSRs() }
        let msrs = state.msrs.map(\.index)
        for required in [VCPUState.fsBase, VCPUState.gsBase] { XCTAssertTrue(msrs.contains(required), "MSR 0x\(String(required, radix: 16))") }
        XCTAssertEqual(msrs, vcpuMSRs, "every supported MSR of the list, in its order")
        XCTAssertEqual(msrs.last, VCPUState.tsc, "the TSC is saved, and last")
        XCTAssertNotEqual(state.msrs.last?.value, 0, "the TSC has been counting")
        if case .xsave(let area) = state.floatingPoint { XCTAssertGreaterThanOrEqual(area.count, 4096) }
        XCTAssertEqual(state.events.count, 64)
        XCTAssertEqual(state.debugRegisters.count, 128)
        XCTAssertEqual(state.mpState, 0, "a fresh boot vCPU is RUNNABLE")
        XCTAssertFalse(state.extendedControlRegisters.isEmpty, "XCR0 is saved")
    }

    func testAStateLoadedIntoAnotherVMReadsBackTheSame() throws {
        let system = try requireKVM()
        let saved = try withFreshVCPU(system) { source in
            try source.loadState(try distinctiveState(source))
            return try source.saveState()
        }
        let loaded = try withFreshVCPU(system) { target in
            try target.loadState(saved)
            return try target.saveState()
        }
        // Everything but the TSC must be equal; the TSC moves on from the saved value.
        var a = saved, b = loaded
        let tscBefore = a.msrs.removeLast(), tscAfter = b.msrs.removeLast()
        XCTAssertEqual(b, a)
        XCTAssertEqual(tscAfter.index, VCPUState.tsc)
        XCTAssertGreaterThanOrEqual(tscAfter.value, tscBefore.value, "the TSC continues from the saved value")
        XCTAssertLessThan(tscAfter.value - tscBefore.value, 1 << 40, "and not from the new VM's own count")
        XCTAssertEqual(loaded.registers.rax, 0x1234_5678_9ABC_DEF0)
        XCTAssertEqual(loaded.specialRegisters.cr2, 0xBAD_F000)
        XCTAssertEqual(loaded.msrs.first { $0.index == VCPUState.lstar }?.value, 0xFFFF_8000_0010_0000)
        if case .xsave(let area) = loaded.floatingPoint {
            XCTAssertEqual(Array(area[160..<176]), (0..<16).map { UInt8(0xA0 + $0) }, "XMM0 survives")
        }
    }

    func testEncodingRoundTripsAndIsVersioned() throws {
        let system = try requireKVM()
        let state = try withFreshVCPU(system) { try distinctiveState($0) }
        let bytes = state.encode()
        XCTAssertEqual(bytes.first, VCPUState.encodingVersion)
        XCTAssertEqual(try VCPUState(decoding: bytes), state)
        var fpu = state
        fpu.floatingPoint = .fpu([UInt8](repeating: 7, count: 416))
        fpu.mpState = nil
        fpu.events = []
        XCTAssertEqual(try VCPUState(decoding: fpu.encode()), fpu, "the FPU fallback and absent parts round-trip too")
    }

    func testTruncatedOrGarbledBytesThrowAndNeverTrap() throws {
        let system = try requireKVM()
        let bytes = try withFreshVCPU(system) { try $0.saveState() }.encode()
        func assertMalformed(_ b: [UInt8], _ why: String, line: UInt = #line) {
            XCTAssertThrowsError(try VCPUState(decoding: b), why, line: line) { error in
                guard case .malformedState? = error as? KVMError else { return XCTFail("\(why): \(error)", line: line) }
            }
        }
        for n in 0..<bytes.count { assertMalformed(Array(bytes.prefix(n)), "cut to \(n) bytes") }
        assertMalformed(bytes + [0], "a trailing byte")
        var b = bytes; b[0] = 2
        assertMalformed(b, "another version")
        // The floating-point kind follows 1 + 18*8 + 8*17 + 2*10 + 7*8 + 4*8 bytes.
        let fpKind = 1 + 144 + 136 + 20 + 56 + 32
        XCTAssertTrue([1, 2].contains(bytes[fpKind]), "the layout this test assumes")
        b = bytes; b[fpKind] = 9
        assertMalformed(b, "an unknown floating-point kind")
        b = bytes; b[fpKind + 4] = 0xFF // the area's length, high byte: far past the end
        assertMalformed(b, "a length past the end")
        b = bytes; b[1 + 144 + 15] = 7 // cs dpl
        assertMalformed(b, "a segment with dpl 7")
        // Random damage: every decode either throws or yields a state that encodes back to
        // the same bytes; none traps.
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            var g = bytes
            for _ in 0..<Int.random(in: 1...4, using: &rng) { g[Int.random(in: 0..<g.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng) }
            if let s = try? VCPUState(decoding: g) { XCTAssertEqual(s.encode(), g) }
        }
    }
}
