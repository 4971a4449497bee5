import Foundation
import LiveMigration
import Machine
import MigrationWire
import Snapshot

/// The seed inputs of each target, made with the real encoders: one of every message, a
/// destination's whole stream, a full and an incremental snapshot, every VNC client message
/// and a control line of every command. `scripts/fuzz.sh seeds` writes them to Tests/FuzzCorpus.
enum FuzzSeeds {
    static func frame(_ messages: [MigrationMessage]) -> [UInt8] {
        var out: [UInt8] = []
        for m in messages { MigrationWire.encode(m, into: &out) }
        return out
    }

    static let page = (0..<MigrationWire.pageSize).map { UInt8(truncatingIfNeeded: $0 / 64) }

    static var device: DeviceState {
        var d = DeviceState(frames: [120], uptimeNanos: 2_000_000_000,
                            waitingInput: [WaitingInputEvent(type: 1, code: 30, value: 1, x: 0, y: 0)])
        (d.modeWidth, d.modeHeight, d.modePitch) = (320, 200, 1280)
        d.consoleUnfinished = [Array("half".utf8)]
        return d
    }

    /// The idle guest's image in a config for the destination's machine (or a few bytes
    /// that are no image, when the built-in guests are not there).
    static var config: MigrationConfig {
        let bytes = (try? GuestCatalog.load("idle")).flatMap { FileManager.default.contents(atPath: $0.path) }.map { [UInt8]($0) }
            ?? Array("not an ELF".utf8)
        var c = MigrationConfig(imageName: "idle", image: bytes, imageDigest: bytes.withUnsafeBytes { PageDigest.of($0) }, arguments: "a=1",
                                ramBytes: 32 << 20, cpus: 1, width: 320, height: 200, pitch: 1280, guestHz: 60, tracking: "ring",
                                ringEntries: 4096, tileWidth: 64, tileHeight: 16, verify: true)
        (c.maxWidth, c.maxHeight, c.migrationID) = (640, 480, 7)
        return c
    }

    /// A vCPU's state as a source sends it: the destination machine's, else a few bytes.
    static var vcpuState: [UInt8] { (try? DestinationFuzz.machine?.vcpu(0).saveState().encode()) ?? [1, 2, 3, 4] }

    static func wire() -> [(name: String, bytes: [UInt8])] {
        let messages: [MigrationMessage] = [
            .hello(version: MigrationWire.version, capabilities: MigrationWire.knownCapabilities),
            .config(MigrationConfig(imageName: "x", image: [1, 2, 3], imageDigest: 9, arguments: "", ramBytes: 16 << 20, cpus: 2, width: 320,
                                    height: 200, pitch: 1280, guestHz: 60, tracking: "auto", ringEntries: 0, tileWidth: 64, tileHeight: 16, verify: false)),
            .accepted(stateNanos: 5), .pages(slot: 0, [PageRecord(page: 3, data: page), PageRecord(page: 4, data: nil)]),
            .roundEnd(round: 1, pages: 2), .roundAck(round: 1, pages: 2, loadNanos: 3), .vcpuState(index: 0, state: [1, 2, 3]),
            .deviceState(device), .digests(slot: 0, [PageDigestRecord(page: 3, digest: 4)]), .complete, .ready,
            .commit(pausedNanos: 5_000_000, sinceReadyNanos: 100_000), .started(resumeNanos: 7), .abort("no"), .heartbeat,
            .outcomeQuery(migration: 7), .outcome(started: true, resumeNanos: 9), .done,
        ]
        var seeds = messages.map { (name: $0.name, bytes: frame([$0])) }
        let pages = frame([.pages(slot: 1, (0..<8).map { PageRecord(page: UInt64($0), data: page) })])
        var packed: [UInt8] = []
        if MigrationWire.compressPagesFrame(pages, level: 6, into: &packed) { seeds.append((name: "compressed-pages", bytes: packed)) }
        return seeds
    }

    static func destination() -> [(name: String, bytes: [UInt8])] {
        let stream: [MigrationMessage] = [
            .pages(slot: 0, [PageRecord(page: 3, data: page), PageRecord(page: 4, data: nil)]), .pages(slot: 1, [PageRecord(page: 0, data: page)]),
            .roundEnd(round: 0, pages: 3), .vcpuState(index: 0, state: vcpuState), .deviceState(device),
            .digests(slot: 0, [PageDigestRecord(page: 3, digest: page.withUnsafeBytes { PageDigest.of($0) })]), .complete,
            .commit(pausedNanos: 5_000_000, sinceReadyNanos: 100_000),
        ]
        return [
            (name: "config", bytes: frame([.config(config)])),
            (name: "stream", bytes: frame(stream)),
            // Issue 23's F4 and F5: both trapped a destination after the guest had started.
            (name: "f4-frame-counter-2-63", bytes: frame([.deviceState(DeviceState(frames: [1 << 63], uptimeNanos: 0))])),
            (name: "f5-commit-paused-near-2-64", bytes: frame([.commit(pausedNanos: UInt64.max - 5, sinceReadyNanos: UInt64.max)])),
        ]
    }
}
