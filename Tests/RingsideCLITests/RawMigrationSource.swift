import Foundation
import KVM
import Machine
import MigrationWire
import TestSupport
import XCTest

/// A source written with MigrationWire over a plain socket: it migrates a guest that was
/// booted in the test process and never ran (its RAM and vCPU state as the loader left
/// them), so a test can put numbers into the stream that no Ringside source would send.
struct RawMigrationSource {
    static let width = 320, height = 200

    /// The guest as messages: hello, config, its non-zero pages as round 0, the vCPU state
    /// and `device` (frame counters 0 and clock 0 unless changed), then complete.
    static func stream(guest: String = "desktop", device change: (inout DeviceState) -> Void = { _ in }) throws -> [MigrationMessage] {
        let system = try requireKVM()
        let image = try XCTUnwrap(FileManager.default.contents(atPath: try builtInGuest(guest).path))
        let bytes = [UInt8](image)
        var config = MigrationConfig(
            imageName: guest, image: bytes, imageDigest: bytes.withUnsafeBytes { PageDigest.of($0) }, arguments: "", ramBytes: 32 << 20,
            cpus: 1, width: UInt32(width), height: UInt32(height), pitch: UInt32(width * 4), guestHz: 0, tracking: "ring",
            ringEntries: 4096, tileWidth: 64, tileHeight: 16, verify: false)
        config.maxWidth = UInt32(width)
        config.maxHeight = UInt32(height)
        let machine = try Machine(system: system, config: try testConfig(guest, width: width, height: height, ramMiB: 32))
        var messages: [MigrationMessage] = [.hello(version: MigrationWire.version, capabilities: 0), .config(config)]
        var sent: UInt64 = 0
        for slot in machine.slots {
            var batch: [PageRecord] = []
            for p in 0..<slot.pageCount {
                // SAFETY: p < slot.pageCount, so the page lies inside the slot's mapping; the machine never runs.
                let page = [UInt8](UnsafeRawBufferPointer(start: slot.memory.base + p * 4096, count: 4096))
                guard page.contains(where: { $0 != 0 }) else { continue }
                batch.append(PageRecord(page: UInt64(p), data: page))
                if batch.count == 256 { messages.append(.pages(slot: slot.id, batch)); sent += 256; batch = [] }
            }
            if !batch.isEmpty { messages.append(.pages(slot: slot.id, batch)); sent += UInt64(batch.count) }
        }
        messages.append(.roundEnd(round: 0, pages: sent))
        messages.append(.vcpuState(index: 0, state: try machine.vcpu(0).saveState().encode()))
        var device = DeviceState(frames: [0], uptimeNanos: 0)
        change(&device)
        messages.append(.deviceState(device))
        messages.append(.complete)
        return messages
    }

    /// Connects to `port`, sends `messages`, and after the destination's `ready` sends
    /// `commit`; returns the names of the messages the destination sent.
    /// With `chatterAfterCommit`, it then sends heartbeats for that many seconds before it
    /// reads on, as a source does whose timer fires while `started` is on its way.
    static func migrate(to port: Int, _ messages: [MigrationMessage], commit: MigrationMessage, chatterAfterCommit: Double = 0) throws -> [String] {
        let fd = try TCP.connect(port: port)
        defer { close(fd) }
        var out: [UInt8] = []
        for m in messages { MigrationWire.encode(m, into: &out) }
        guard TCP.sendAll(fd, out) else { return ["(the destination hung up while the stream was sent)"] }
        var seen: [String] = []
        while let m = FakeDestination.readMessage(fd) {
            seen.append(m.name)
            if case .ready = m {
                var c: [UInt8] = []
                MigrationWire.encode(commit, into: &c)
                guard TCP.sendAll(fd, c) else { break }
                chatter(fd, seconds: chatterAfterCommit)
            }
            if case .started = m { break }
            if case .abort = m { break }
        }
        return seen
    }

    /// Heartbeats every 5 ms for `seconds`, nothing read meanwhile; stops early if sending fails.
    private static func chatter(_ fd: Int32, seconds: Double) {
        var beat: [UInt8] = []
        MigrationWire.encode(.heartbeat, into: &beat)
        let end = Date().addingTimeInterval(seconds)
        while Date() < end, TCP.sendAll(fd, beat) { usleep(5000) }
    }
}
