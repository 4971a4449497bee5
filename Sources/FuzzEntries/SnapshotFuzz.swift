import KVM
import LiveMigration
import MigrationWire
import Snapshot

/// The snapshot reader over a file's bytes: as they are, and with the header's and every
/// section's checksum made right (so that mutations reach what the checksums guard: the
/// sections' order, lengths and messages). The sections read go through the restore's
/// checks that need no machine.
enum SnapshotFuzz {
    static func run(_ bytes: [UInt8]) -> FuzzOutcome {
        var outcome = read(bytes)
        let repaired = repairingChecksums(bytes)
        if repaired != bytes { outcome.merge(read(repaired)) }
        return outcome
    }

    private static func read(_ bytes: [UInt8]) -> FuzzOutcome {
        var outcome = FuzzOutcome()
        do {
            var reader = try SnapshotReader(SnapshotMemorySource(bytes))
            while let section = try reader.next() {
                outcome.accepted += 1
                switch section {
                case .deviceState(let d): _ = try d.restorable(vcpuCount: d.frames.count)
                case .vcpuState(_, let state): _ = try VCPUState(decoding: state)
                case .config, .pages: break
                }
            }
        } catch {
            outcome.refuse(error)
        }
        return outcome
    }

    /// `bytes` with the header's checksum and each whole section's set to what they should be.
    static func repairingChecksums(_ bytes: [UInt8]) -> [UInt8] {
        var b = bytes
        let header = SnapshotFormat.headerBytes
        guard b.count >= header else { return b }
        put(b[0..<(header - 8)].withUnsafeBytes { PageDigest.of($0) }, into: &b, at: header - 8)
        var at = header
        let head = SnapshotFormat.sectionHeaderBytes, sum = SnapshotFormat.checksumBytes
        while b.count - at >= head + sum {
            let length = (0..<8).reduce(UInt64(0)) { $0 | UInt64(b[at + 8 + $1]) << (8 * UInt64($1)) }
            guard length <= UInt64(b.count - at - head - sum) else { break }
            let end = at + head + Int(length)
            let checksum = b[at..<(at + head)].withUnsafeBytes { h in
                b[(at + head)..<end].withUnsafeBytes { SnapshotFormat.checksum(header: h, body: $0) }
            }
            put(checksum, into: &b, at: end)
            at = end + sum
        }
        return b
    }

    private static func put(_ v: UInt64, into b: inout [UInt8], at i: Int) {
        for k in 0..<8 { b[i + k] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(k))) }
    }
}
