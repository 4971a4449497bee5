import Foundation
@testable import FuzzEntries
import XCTest

/// The fuzzers' corpora as regression tests: every file under Tests/FuzzCorpus/<target>/
/// (the seeds, and the inputs the fuzzers found that trapped before their fix) goes through
/// the same entry function the libFuzzer binary calls. None may trap; each must end with
/// every invariant holding, its refusals one line each, and a result bounded by its size.
final class FuzzCorpusTests: XCTestCase {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("FuzzCorpus")

    static func files(_ target: FuzzTarget) throws -> [URL] {
        let dir = corpus.appendingPathComponent(target.rawValue)
        return try FileManager.default.contentsOfDirectory(at: dir, includingPropertiesForKeys: nil)
            .filter { !$0.lastPathComponent.hasPrefix(".") }.sorted { $0.path < $1.path }
    }

    func testEveryCorpusFileRunsWithoutATrapOrABrokenInvariant() throws {
        var total = 0
        for target in FuzzTarget.allCases {
            let files = try Self.files(target)
            XCTAssertFalse(files.isEmpty, "Tests/FuzzCorpus/\(target.rawValue) has inputs")
            for file in files {
                let bytes = [UInt8](try Data(contentsOf: file))
                let outcome = target.run(bytes)
                XCTAssertEqual(outcome.violations, [], "\(target.rawValue)/\(file.lastPathComponent)")
                XCTAssertLessThanOrEqual(outcome.accepted, 2 * bytes.count + 1, "\(target.rawValue)/\(file.lastPathComponent): bounded")
                total += bytes.count
            }
        }
        XCTAssertLessThan(total, 1 << 20, "the corpus stays small")
    }

    /// The seeds are valid inputs: each is taken, so the fuzzers start deep in the code.
    func testSeedsAreTaken() {
        for target in FuzzTarget.allCases {
            for seed in target.seeds where !seed.name.hasPrefix("f4") {
                let outcome = target.run(seed.bytes)
                XCTAssertEqual(outcome.violations, [], "\(target.rawValue) seed \(seed.name)")
                XCTAssertGreaterThan(outcome.accepted, 0, "\(target.rawValue) seed \(seed.name): \(outcome.refusals)")
            }
        }
    }

    /// A destination's whole stream is applied, and issue 23's F4 (a frame counter of 2^63) is
    /// refused with its line where it trapped before.
    func testDestinationStreamIsAppliedAndF4Refused() throws {
        let seeds = Dictionary(uniqueKeysWithValues: FuzzTarget.destination.seeds.map { ($0.name, $0.bytes) })
        let stream = FuzzTarget.destination.run(try XCTUnwrap(seeds["stream"]))
        XCTAssertEqual(stream.refusals, [])
        XCTAssertEqual(stream.accepted, 8)
        let f4 = FuzzTarget.destination.run(try XCTUnwrap(seeds["f4-frame-counter-2-63"]))
        XCTAssertEqual(f4.accepted, 0)
        XCTAssertTrue(f4.refusals.first?.contains("frame counter 9223372036854775808 is out of range") == true, "\(f4.refusals)")
    }

    /// A snapshot whose checksums were damaged is refused as it is, and read once repaired.
    func testSnapshotChecksumRepairReachesTheSections() throws {
        var full = try XCTUnwrap(FuzzTarget.snapshotReader.seeds.first { $0.name == "full" }).bytes
        full[full.count - 1] ^= 0xFF
        full[84] ^= 0x01 // the config name's length, in the first section's body (64 + 16 + 4)
        XCTAssertNotEqual(SnapshotFuzz.repairingChecksums(full), full)
        let outcome = FuzzTarget.snapshotReader.run(full)
        XCTAssertEqual(outcome.refusals.count, 2, "\(outcome.refusals)")
        XCTAssertTrue(outcome.refusals.contains { $0.contains("checksum") }, "\(outcome.refusals)")
    }
}
