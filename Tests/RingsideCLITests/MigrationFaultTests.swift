import Foundation
import KVM
import Machine
import MigrationWire
import TestSupport
import XCTest

/// Live migration streams that are not what they claim: garbage on the port, a source that goes
/// quiet, a well-formed config or stream that lies. The destination ends with status 1, one line,
/// and keeps nothing. (The shared fixtures are in MigrationFaultFixtures.swift.)
final class MigrationFaultTests: XCTestCase, MigrationFaultFixtures {
    // MARK: - (e) not a migration stream at all

    func testGarbageOnThePortEndsTheDestinationWithOneLine() throws {
        try MigrationCheck.requireKVMDevice()
        var rng = SplitMix(seed: 0x5EED)
        let random = (0..<65536).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        var badMagic: [UInt8] = []
        MigrationWire.encode(.hello(version: 1, capabilities: 0), into: &badMagic)
        badMagic[5] = UInt8(ascii: "X") // "XSMIG"
        var unknownType: [UInt8] = [5, 0, 0, 0, 0xEE, 1, 2, 3, 4]
        unknownType += [0, 0, 0, 0] // and a trailing partial header
        let payloads: [(String, [UInt8], String)] = [
            ("random bytes", random, "malformed migration stream: a frame of "),
            ("an HTTP request", Array("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: */*\r\n\r\n".utf8), "malformed migration stream: not a Ringside migration stream (it starts with \"GET \")"),
            ("a hello with a bad magic", badMagic, "not a Ringside migration stream (bad magic)"),
            ("an unknown message type", unknownType, "malformed migration stream: unknown message type 238"),
        ]
        let problems = inParallel(width: 2, payloads.map { name, bytes, expected in { self.sendRaw(name, [bytes], expecting: expected) } })
        for p in problems.compactMap({ $0 }) { XCTFail(p) }
    }

    /// A source that says hello and then nothing: the destination gives up after --timeout
    /// and says that nothing arrived, not that the source hung up.
    func testASourceThatGoesQuietTimesOut() throws {
        try MigrationCheck.requireKVMDevice()
        var hello: [UInt8] = []
        MigrationWire.encode(.hello(version: MigrationWire.version, capabilities: 0), into: &hello)
        if let p = sendRaw("a quiet source", [hello], expecting: "connection lost: nothing arrived from 127.0.0.1:", receiveOptions: ["--timeout", "1"]) {
            XCTFail(p)
        }
    }

    // MARK: - (f) a well-formed stream that lies

    /// A config the destination cannot or must not build is refused in one line, and the
    /// source is told (an abort before anything else is sent).
    func testAConfigThatLiesIsRefused() throws {
        try MigrationCheck.requireKVMDevice()
        let garbage = [UInt8](repeating: 0x7F, count: 4096)
        let cases: [(String, (inout MigrationConfig) -> Void, String)] = [
            ("a width whose pitch overflows", { $0.width = 0x4000_0000; $0.pitch = 0 }, "resolution 1073741824x200 is out of range"),
            ("no vCPUs", { $0.cpus = 0 }, "--cpus 0 is out of range"),
            ("more vCPUs than KVM allows", { $0.cpus = 4096 }, "--cpus 4096 is out of range"),
            ("a terabyte of RAM", { $0.ramBytes = 1 << 40 }, "guest memory 1099511627776 bytes is out of range"),
            ("a pacing rate that is not a number", { $0.guestHz = .nan }, "--guest-hz nan is out of range"),
            ("an image that does not match its digest", { $0.image[100] ^= 0xFF }, "the guest image's digest does not match its bytes"),
            ("an image that is not ELF", { $0.image = garbage; $0.imageDigest = garbage.withUnsafeBytes { PageDigest.of($0) } },
             "is not a guest image: it is not an ELF file"),
        ]
        let problems = inParallel(width: 2, try cases.map { name, change, expected in
            let stream = try preamble(change)
            return { self.sendRaw(name, [stream], expecting: expected, abort: true) }
        })
        for p in problems.compactMap({ $0 }) { XCTFail(p) }
    }

    func testAStreamThatNamesWhatDoesNotExistIsRefused() throws {
        try MigrationCheck.requireKVMDevice()
        let system = try requireKVM()
        // A real vCPU state, so the first copy loads and only the second is wrong.
        let machine = try Machine(system: system, config: try testConfig("desktop", ramMiB: 32))
        let state = try machine.vcpu(0).saveState().encode()
        let ramPages = UInt64(32 << 20) / 4096
        let page = [UInt8](repeating: 0xA5, count: MigrationWire.pageSize)
        func stream(_ messages: [MigrationMessage]) throws -> [[UInt8]] {
            var out: [UInt8] = []
            for m in messages { MigrationWire.encode(m, into: &out) }
            return [try preamble(), out]
        }
        let cases: [(String, [[UInt8]], String)] = [
            ("a page past the end of RAM", try stream([.pages(slot: GuestLayout.ramSlot, [PageRecord(page: 7, data: page), PageRecord(page: ramPages, data: page)])]),
             "protocol error: page \(ramPages) is outside slot \(GuestLayout.ramSlot) ("),
            ("the last possible page number", try stream([.pages(slot: GuestLayout.ramSlot, [PageRecord(page: .max, data: nil)])]),
             "protocol error: page \(UInt64.max) is outside slot \(GuestLayout.ramSlot) ("),
            ("a slot that does not exist", try stream([.pages(slot: 77, [PageRecord(page: 0, data: page)])]),
             "protocol error: pages for slot 77, which this machine does not have"),
            ("a duplicate vCPU state", try stream([.vcpuState(index: 0, state: state), .vcpuState(index: 0, state: state)]),
             "protocol error: a second state for vCPU 0"),
            ("a vCPU the machine does not have", try stream([.vcpuState(index: 1, state: state)]),
             "protocol error: state for vCPU 1, but the machine has 1"),
            ("a vCPU state that is not one", try stream([.vcpuState(index: 0, state: Array(state.prefix(40)))]),
             "protocol error: vCPU 0's state: "),
            ("frame counters for vCPUs the machine does not have", try stream([.deviceState(DeviceState(frames: [5, 5, 5], uptimeNanos: 0))]),
             "protocol error: 3 frame counters for 1 vCPUs"),
            ("a waiting input event that is not one", try stream([.deviceState(DeviceState(frames: [5], uptimeNanos: 0, waitingInput: [
                WaitingInputEvent(type: 1, code: 30, value: 1, x: 0, y: 0), WaitingInputEvent(type: 99, code: 0, value: 0, x: 0, y: 0)]))]),
             "protocol error: waiting input event 1 is not an event (type 99, code 0, value 0)"),
            ("a round with the wrong page count", try stream([.pages(slot: GuestLayout.ramSlot, [PageRecord(page: 7, data: page)]), .roundEnd(round: 0, pages: 2)]),
             "protocol error: round 0 claims 2 pages but 1 arrived"),
            ("complete without vCPU states", try stream([.deviceState(DeviceState(frames: [5], uptimeNanos: 0)), .complete]),
             "protocol error: complete with 0 of 1 vCPU states"),
            ("a digest that does not match", try stream([.pages(slot: GuestLayout.ramSlot, [PageRecord(page: 7, data: page)]),
                                                          .digests(slot: GuestLayout.ramSlot, [PageDigestRecord(page: 7, digest: 0)])]),
             "page 7 differs from the source's"),
        ]
        let problems = inParallel(width: 2, cases.map { name, chunks, expected in { self.sendRaw(name, chunks, expecting: expected, abort: true) } })
        for p in problems.compactMap({ $0 }) { XCTFail(p) }
    }
}
