import Foundation
import MigrationWire
@testable import Snapshot
import XCTest
import TestSupport

/// The snapshot reader takes any bytes without a trap, a hang or a large allocation:
/// 30,000 mutants of valid files (flipped bytes, cut, spliced, lengths and counts set to
/// large values), from a fixed seed. Each is read to its end or refused with one line.
final class SnapshotReaderFuzzTests: XCTestCase {
    func testThirtyThousandMutantsNeverTrap() throws {
        let dir = try SnapshotFixtures.tempDir(self)
        let pages = [PageRecord(page: 1, data: SnapshotFixtures.page(3)), PageRecord(page: 2, data: nil)]
        try SnapshotFixtures.write(dir + "/full", header: SnapshotFixtures.fullHeader(), SnapshotFixtures.sections(kind: .full, pages: pages, vcpus: 2))
        let inc = SnapshotHeader(kind: .incremental, id: .random(), base: .random(), sequence: 1)
        try SnapshotFixtures.write(dir + "/inc", header: inc, SnapshotFixtures.sections(kind: .incremental, pages: [PageRecord(page: 5, data: nil)]))
        let seeds = [SnapshotFixtures.bytes(dir + "/full"), SnapshotFixtures.bytes(dir + "/inc")]
        var rng = SplitMix(seed: 0xF022_5EED)
        var refused = 0
        for i in 0..<30_000 {
            let input = mutate(seeds[i % 2], seeds[(i + 1) % 2], &rng)
            do {
                _ = try SnapshotFixtures.readAll(input)
            } catch let e as SnapshotError {
                refused += 1
                if e.description.isEmpty || e.description.contains("\n") { XCTFail("mutant \(i): \(e.description.debugDescription)") }
            }
        }
        XCTAssertGreaterThan(refused, 29_000, "almost every mutant is damaged")
    }

    private func mutate(_ seed: [UInt8], _ other: [UInt8], _ rng: inout SplitMix) -> [UInt8] {
        var b = seed
        for _ in 0..<(1 + Int(rng.next() % 3)) {
            let at = Int(rng.next() % UInt64(max(b.count, 1)))
            switch rng.next() % 6 {
            case 0: if !b.isEmpty { b[at] ^= UInt8(truncatingIfNeeded: rng.next() | 1) }
            case 1: b = Array(b.prefix(at))
            case 2: b.insert(contentsOf: other[Int(rng.next() % UInt64(other.count))...].prefix(Int(rng.next() % 64)), at: min(at, b.count))
            case 3: // a length or count field set large: a u32/u64 of 0xFF.. at a random place
                let n = rng.next() % 2 == 0 ? 4 : 8
                for k in 0..<n where at + k < b.count { b[at + k] = 0xFF }
            case 4: if at + 8 <= b.count { b.removeSubrange(at..<(at + 8)) }
            default: b.insert(contentsOf: [UInt8](repeating: UInt8(truncatingIfNeeded: rng.next()), count: Int(rng.next() % 32)), at: min(at, b.count))
            }
        }
        return b
    }
}
