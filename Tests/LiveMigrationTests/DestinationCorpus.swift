import MigrationWire

/// The regression corpus of `DestinationFuzzTests`: message bodies (a type byte and the body)
/// with numbers at the edges, each with the start of the line it must end in ("applied" when
/// the destination takes it). The first two trapped a destination after the guest had
/// started (issue 23: F4, F5).
enum DestinationCorpus {
    struct Entry {
        let name: String
        let body: [UInt8]
        let expected: String
    }

    static func body(_ m: MigrationMessage) -> [UInt8] {
        var out: [UInt8] = []
        MigrationWire.encode(m, into: &out)
        return Array(out[4...])
    }

    static func device(frames: [UInt64], uptime: UInt64 = 0, _ change: (inout DeviceState) -> Void = { _ in }) -> [UInt8] {
        var d = DeviceState(frames: frames, uptimeNanos: uptime)
        change(&d)
        return body(.deviceState(d))
    }

    static func le(_ v: UInt64, _ bytes: Int) -> [UInt8] { (0..<bytes).map { UInt8(truncatingIfNeeded: v >> (8 * UInt64($0))) } }

    static let entries: [Entry] = [
        Entry(name: "F4: a frame counter of 2^63", body: device(frames: [1 << 63]),
              expected: "protocol error: vCPU 0's frame counter 9223372036854775808 is out of range (at most 2^48)"),
        Entry(name: "F5: a paused time near 2^64 in commit", body: body(.commit(pausedNanos: UInt64.max - 5, sinceReadyNanos: UInt64.max)),
              expected: "applied"),
        Entry(name: "a frame counter of 2^64 - 1", body: device(frames: [UInt64.max]), expected: "protocol error: vCPU 0's frame counter"),
        Entry(name: "the largest frame counter", body: device(frames: [1 << 48]), expected: "applied"),
        Entry(name: "a clock at 2^64 - 1 (it continues modulo 2^64)", body: device(frames: [1], uptime: UInt64.max), expected: "applied"),
        Entry(name: "a mode 2^32 - 1 wide", body: device(frames: [1]) { ($0.modeWidth, $0.modeHeight, $0.modePitch) = (.max, .max, .max) },
              expected: "protocol error: "),
        Entry(name: "a mode whose pitch is not a row", body: device(frames: [1]) { ($0.modeWidth, $0.modeHeight, $0.modePitch) = (320, 200, 0xFFFF_FFFC) },
              expected: "protocol error: "),
        Entry(name: "a pointer event at the ends of Int32", body: device(frames: [1]) {
            $0.waitingInput = [WaitingInputEvent(type: 2, code: 0, value: 0, x: .min, y: .max)]
        }, expected: "applied"),
        Entry(name: "a wheel event of Int32.min", body: device(frames: [1]) {
            $0.waitingInput = [WaitingInputEvent(type: 4, code: 0, value: .min, x: .min, y: 0)]
        }, expected: "applied"),
        Entry(name: "a digests message claiming 262144 digests with none there", body: [7] + le(0, 4) + le(262_144, 4),
              expected: "malformed migration stream: truncated"),
        Entry(name: "a pages message claiming 1024 pages with none there", body: [3] + le(0, 4) + le(1024, 4),
              expected: "malformed migration stream: truncated"),
        Entry(name: "the last page number", body: body(.pages(slot: 0, [PageRecord(page: .max, data: nil)])),
              expected: "protocol error: page 18446744073709551615 is outside slot 0"),
        Entry(name: "a digest for the last page number", body: body(.digests(slot: 1, [PageDigestRecord(page: .max, digest: 0)])),
              expected: "protocol error: a digest for page 18446744073709551615 outside slot 1"),
        Entry(name: "a vCPU index of 2^32 - 1", body: body(.vcpuState(index: .max, state: [1])),
              expected: "protocol error: state for vCPU 4294967295, but the machine has 1"),
        Entry(name: "a round claiming 2^64 - 1 pages", body: body(.roundEnd(round: .max, pages: .max)),
              expected: "protocol error: round 4294967295 claims 18446744073709551615 pages but 0 arrived"),
        Entry(name: "a config of 2^32 - 1 vCPUs and RAM of 2^64 - 1", body: body(.config(MigrationConfig(
            imageName: "x", image: [], imageDigest: 0, arguments: "", ramBytes: .max, cpus: .max, width: .max, height: .max, pitch: .max,
            guestHz: .infinity, tracking: "", ringEntries: .max, tileWidth: .max, tileHeight: .max, verify: true))),
              expected: "the guest has 17592186044415 MiB of RAM; this destination takes at most 1024 MiB"),
        Entry(name: "a largest mode of 2^32 - 1", body: {
            var c = MigrationConfig(imageName: "x", image: [], imageDigest: 0, arguments: "", ramBytes: 32 << 20, cpus: 1, width: 320, height: 200,
                                    pitch: 1280, guestHz: 60, tracking: "ring", ringEntries: 4096, tileWidth: 64, tileHeight: 16, verify: false)
            (c.maxWidth, c.maxHeight) = (.max, .max)
            return body(.config(c))
        }(), expected: "the source's largest mode 4294967295x4294967295 is out of range"),
    ]
}
