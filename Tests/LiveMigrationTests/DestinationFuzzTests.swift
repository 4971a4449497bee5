import Foundation
import KVM
@testable import LiveMigration
import Machine
import MigrationWire
import Testing
import TestSupport

/// Mutated streams against the decoder and the destination's state application: a seeded
/// mutation fuzzer (so every run tries the same inputs) over valid messages, with integer
/// fields overwritten by boundary values, and a regression corpus of the inputs that trapped
/// before (issue 23's F4 and F5 and their kin). Whatever the bytes, each input is refused
/// with a `MigrationWireError` or `MigrationError`, or applied; none may trap.
@Suite("The destination under mutated streams", .serialized)
struct DestinationFuzzTests {
    static let kvm = FileManager.default.fileExists(atPath: "/dev/kvm")

    /// A machine as a destination builds it, before any page: desktop, 32 MiB, one vCPU.
    static func incomingMachine() throws -> Machine {
        try Machine(system: try KVMSystem(), incoming: try testConfig("desktop", width: 320, height: 200, ramMiB: 32))
    }

    /// Valid message bodies to mutate: what a source sends after the config, and the config.
    static func seeds(_ machine: Machine) throws -> [[UInt8]] {
        let page = [UInt8](repeating: 0xA5, count: MigrationWire.pageSize)
        var device = DeviceState(frames: [120], uptimeNanos: 2_000_000_000,
                                 waitingInput: [WaitingInputEvent(type: 1, code: 30, value: 1, x: 0, y: 0)])
        (device.modeWidth, device.modeHeight, device.modePitch) = (320, 200, 1280)
        device.consoleUnfinished = [Array("half".utf8)]
        let image = [UInt8](try Data(contentsOf: URL(fileURLWithPath: try builtInGuest("desktop").path)))
        var config = MigrationConfig(imageName: "desktop", image: image, imageDigest: image.withUnsafeBytes { PageDigest.of($0) }, arguments: "",
                                     ramBytes: 32 << 20, cpus: 1, width: 320, height: 200, pitch: 1280, guestHz: 60, tracking: "ring",
                                     ringEntries: 4096, tileWidth: 64, tileHeight: 16, verify: false)
        config.maxWidth = 640
        config.maxHeight = 480
        config.migrationID = 7
        let messages: [MigrationMessage] = [
            .pages(slot: 0, [PageRecord(page: 3, data: page), PageRecord(page: 4, data: nil)]),
            .pages(slot: 1, [PageRecord(page: 0, data: page)]),
            .roundEnd(round: 0, pages: 2),
            .vcpuState(index: 0, state: try machine.vcpu(0).saveState().encode()),
            .deviceState(device),
            .digests(slot: 0, [PageDigestRecord(page: 3, digest: page.withUnsafeBytes { PageDigest.of($0) })]),
            .complete,
            .commit(pausedNanos: 5_000_000, sinceReadyNanos: 100_000),
            .config(config),
            .outcomeQuery(migration: 7), .outcome(started: true, resumeNanos: 9), .roundAck(round: 1, pages: 2, loadNanos: 3),
        ]
        return messages.map { m in var out: [UInt8] = []; MigrationWire.encode(m, into: &out); return Array(out[4...]) }
    }

    /// What a destination does with a decoded message, short of the network: the state
    /// application (`ArrivingGuest`), the config's machine config and its checks, the
    /// commit's downtime. Returns whether it was accepted.
    static func apply(_ m: MigrationMessage, to machine: Machine, image: GuestImage) -> Bool {
        switch m {
        case .config(let c):
            guard let config = try? c.machineConfig(image: image, memoryLimit: 1 << 30) else { return false }
            return (try? config.validate(maxVCPUs: 2)) != nil
        case .commit(let paused, let sinceReady):
            return Downtime.seconds(pausedAtCommitNanos: paused, roundTripNanos: 1e6 - Double(sinceReady), resumeNanos: 1000) >= 0
        default:
            return (try? ArrivingGuest(machine: machine, verify: false, source: "fuzz").apply(m)) != nil
        }
    }

    /// Overwrites 1, 2, 4 or 8 bytes at a random place with a boundary value.
    static func boundary(_ body: inout [UInt8], _ rng: inout SplitMix) {
        let values: [UInt64] = [0, 1, 0x7F, 0xFF, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 1 << 32, 1 << 48, (1 << 48) + 1,
                                1 << 62, 1 << 63, UInt64.max - 1, UInt64.max]
        let width = [1, 2, 4, 8][Int(rng.next() % 4)]
        guard body.count > width else { return }
        let at = 1 + Int(rng.next() % UInt64(body.count - width))
        let v = values[Int(rng.next() % UInt64(values.count))]
        for i in 0..<width { body[at + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(i))) }
    }

    static func mutate(_ seed: [UInt8], _ rng: inout SplitMix) -> [UInt8] {
        var body = seed
        for _ in 0..<(1 + Int(rng.next() % 4)) where !body.isEmpty {
            let at = Int(rng.next() % UInt64(body.count))
            switch rng.next() % 6 {
            case 0: body[at] = UInt8(truncatingIfNeeded: rng.next())
            case 1: body.removeSubrange(at...)
            case 2: body.insert(UInt8(truncatingIfNeeded: rng.next()), at: at)
            case 3: body[at] ^= 0x80
            default: boundary(&body, &rng)
            }
        }
        return body
    }

    @Test("100,000 mutated messages: refused or applied, never a trap", .enabled(if: kvm, "needs /dev/kvm"))
    func mutatedMessages() throws {
        let machine = try Self.incomingMachine()
        let image = try builtInGuest("desktop")
        let seeds = try Self.seeds(machine)
        var rng = SplitMix(seed: 23)
        var decoded = 0, applied = 0
        for i in 0..<100_000 {
            let body = Self.mutate(seeds[i % seeds.count], &rng)
            guard let m = try? MigrationWire.decode(body) else { continue }
            decoded += 1
            if Self.apply(m, to: machine, image: image) { applied += 1 }
        }
        #expect(decoded > 10_000, "enough mutations decode to reach the destination's checks: \(decoded)")
        #expect(applied > 100 && applied < decoded, "some are applied, most refused: \(applied) of \(decoded)")
    }

    @Test("the regression corpus: each input is refused with its line, or applied", .enabled(if: kvm, "needs /dev/kvm"))
    func regressionCorpus() throws {
        let machine = try Self.incomingMachine()
        let image = try builtInGuest("desktop")
        for entry in DestinationCorpus.entries {
            let outcome: String
            do {
                let m = try MigrationWire.decode(entry.body)
                switch m {
                case .config(let c):
                    do {
                        try c.machineConfig(image: image, memoryLimit: 1 << 30).validate(maxVCPUs: 2)
                        outcome = "applied"
                    } catch { outcome = "\(error)" }
                case .commit(let paused, let sinceReady):
                    let s = Downtime.seconds(pausedAtCommitNanos: paused, roundTripNanos: 1e6 - Double(sinceReady), resumeNanos: 1000)
                    outcome = s.isFinite && s >= 0 ? "applied" : "downtime \(s)"
                default:
                    _ = try ArrivingGuest(machine: machine, verify: false, source: "corpus").apply(m)
                    outcome = "applied"
                }
            } catch {
                outcome = "\(error)"
            }
            #expect(outcome.hasPrefix(entry.expected), "\(entry.name): \(outcome)")
        }
    }
}
