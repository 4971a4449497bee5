import Foundation
import MigrationWire
@testable import Snapshot
import XCTest
import TestSupport

/// The file format without KVM: what is written reads back exactly, and every truncation,
/// every flipped bit and every section out of its place is refused with one line.
final class SnapshotFormatTests: XCTestCase {
    private typealias F = SnapshotFixtures

    func testWhatIsWrittenReadsBackSectionBySection() throws {
        let dir = try F.tempDir(self)
        let pages = [PageRecord(page: 3, data: F.page(7)), PageRecord(page: 9, data: nil)]
        let header = F.fullHeader()
        try F.write(dir + "/a.snap", header: header, F.sections(kind: .full, pages: pages, vcpus: 2))
        var reader = try SnapshotReader(try SnapshotFile(path: dir + "/a.snap"))
        XCTAssertEqual(reader.header, header)
        var sections: [SnapshotSection] = []
        while let s = try reader.next() { sections.append(s) }
        XCTAssertEqual(sections.count, 5)
        XCTAssertEqual(sections[0], .config(F.config))
        XCTAssertEqual(sections[1], .pages(slot: 0, pages))
        XCTAssertEqual(sections[2], .vcpuState(index: 0, state: [1, 2, 3, 0]))
        XCTAssertEqual(sections[3], .vcpuState(index: 1, state: [1, 2, 3, 1]))
        guard case .deviceState(let d) = sections[4] else { return XCTFail("no device state") }
        XCTAssertEqual(d.frames, [42, 42])
        XCTAssertEqual(d.uptimeNanos, 123_456_789)
        XCTAssertNil(try reader.next(), "nothing after the end")
        // The temporary file was renamed away; the snapshot is owner-only.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["a.snap"])
        XCTAssertEqual((try FileManager.default.attributesOfItem(atPath: dir + "/a.snap")[.posixPermissions] as? NSNumber)?.intValue, 0o600)
    }

    func testEveryTruncationIsRefused() throws {
        let dir = try F.tempDir(self)
        try F.write(dir + "/a.snap", header: F.fullHeader(), F.sections(kind: .full, pages: [PageRecord(page: 1, data: nil)]))
        let whole = F.bytes(dir + "/a.snap")
        XCTAssertNoThrow(try F.readAll(whole))
        for n in 0..<whole.count {
            do {
                _ = try F.readAll(Array(whole[0..<n]))
                XCTFail("a file cut to \(n) of \(whole.count) bytes was accepted")
            } catch let e as SnapshotError {
                XCTAssertFalse(e.description.contains("\n"))
            }
        }
    }

    func testEveryFlippedBitIsRefused() throws {
        let dir = try F.tempDir(self)
        try F.write(dir + "/a.snap", header: F.fullHeader(), F.sections(kind: .full, pages: [PageRecord(page: 1, data: nil)]))
        let whole = F.bytes(dir + "/a.snap")
        var refusals = Set<String>()
        for bit in 0..<(whole.count * 8) {
            var b = whole
            b[bit / 8] ^= 1 << (bit % 8)
            do {
                _ = try F.readAll(b)
                XCTFail("bit \(bit) flipped was accepted")
            } catch let e as SnapshotError {
                refusals.insert(String(e.description.prefix(20)))
            }
        }
        XCTAssertTrue(refusals.contains { $0.hasPrefix("damaged") }, "\(refusals)")
    }

    func testAPageWithDataDetectsAFlipAnywhereInIt() throws {
        let dir = try F.tempDir(self)
        try F.write(dir + "/a.snap", header: F.fullHeader(), F.sections(kind: .full, pages: [PageRecord(page: 1, data: F.page(0x5A))]))
        let whole = F.bytes(dir + "/a.snap")
        var rng = SplitMix(seed: 7)
        for _ in 0..<500 {
            var b = whole
            let bit = Int(rng.next() % UInt64(b.count * 8))
            b[bit / 8] ^= 1 << (bit % 8)
            XCTAssertThrowsError(try F.readAll(b), "bit \(bit)")
        }
    }

    func testSectionsOutOfPlaceAreRefused() throws {
        let dir = try F.tempDir(self)
        func refusal(_ header: SnapshotHeader, _ sections: [(SnapshotFormat.SectionType, MigrationMessage)], endPages: UInt64? = nil) throws -> String {
            let path = dir + "/x-\(UUID().uuidString.prefix(6)).snap"
            try F.write(path, header: header, sections, endPages: endPages)
            do { _ = try F.readAll(F.bytes(path)); return "accepted" } catch { return "\(error)" }
        }
        let full = F.sections(kind: .full, pages: [PageRecord(page: 1, data: nil)])
        let incremental = SnapshotHeader(kind: .incremental, id: .random(), base: .random(), sequence: 1)
        XCTAssertEqual(try refusal(F.fullHeader(), Array(full.dropFirst())), "damaged: section 1 is a pages section, which cannot come first in a full snapshot (the config must)")
        XCTAssertEqual(try refusal(incremental, full), "damaged: section 1 is a config section, which cannot come first in an incremental snapshot")
        XCTAssertEqual(try refusal(F.fullHeader(), [full[0], full[1], full[3]]), "damaged: section 3 is a device-state section, which cannot come after the pages")
        var swapped = F.sections(kind: .full, pages: [], vcpus: 2)
        swapped.swapAt(1, 2)
        XCTAssertEqual(try refusal(F.fullHeader(), swapped), "damaged: section 2 holds the state of vCPU 1 where vCPU 0's was due")
        XCTAssertEqual(try refusal(F.fullHeader(), full, endPages: 5), "damaged: the end section counts 4 sections and 5 pages, but 4 and 1 came before it")
        XCTAssertEqual(try refusal(F.fullHeader(), [full[0], (.pages, .complete), full[2], full[3]]), "damaged: section 2 is marked pages but holds another message")
        XCTAssertEqual(try refusal(incremental, F.sections(kind: .incremental, pages: [])), "accepted")
    }

    func testHeadersThatAreNotOursAreRefused() throws {
        XCTAssertThrowsError(try F.readAll(Array("#!/bin/sh\necho not a snapshot, but long enough to hold a header...\n".utf8))) {
            XCTAssertEqual("\($0)", "not a Ringside snapshot (bad magic)")
        }
        XCTAssertThrowsError(try F.readAll([])) { XCTAssertEqual("\($0)", "truncated: the file ends before the end of the header") }
        var h = F.fullHeader().encode()
        h[8] = 3 // version 3, checksum made anew
        let sum = h[0..<56].withUnsafeBytes { PageDigest.of($0) }
        withUnsafeBytes(of: sum.littleEndian) { for i in 0..<8 { h[56 + i] = $0[i] } }
        XCTAssertThrowsError(try F.readAll(h)) { XCTAssertEqual("\($0)", "snapshot format version 3 is not one this Ringside reads (1 to 2)") }
    }

    /// Files written before migration protocol 4 (format version 1, whose config section ends
    /// before the migration id) still read back, with the id 0; in a version 2 file the same
    /// short config is damage.
    func testAVersion1FileWithTheOlderConfigStillReads() throws {
        let dir = try F.tempDir(self)
        let pages = [PageRecord(page: 3, data: F.page(7))]
        func write(_ path: String, version: UInt16) throws {
            let w = try SnapshotFileWriter(path: path, header: SnapshotHeader(kind: .full, id: .random(), base: nil, sequence: 0, version: version))
            for (type, m) in F.sections(kind: .full, pages: pages) {
                var frame: [UInt8] = []
                MigrationWire.encode(m, into: &frame)
                try w.section(type, type == .config ? Array(frame.dropLast(8)) : frame, from: 4)
            }
            try w.section(.end, SnapshotEnd(sections: w.sections, pages: 1).encode())
            try w.commit()
        }
        try write(dir + "/v1.snap", version: 1)
        let (header, sections) = try F.readAll(F.bytes(dir + "/v1.snap"))
        XCTAssertEqual(header.version, 1)
        XCTAssertEqual(sections.count, 4)
        XCTAssertEqual(sections.first, .config(F.config))
        XCTAssertEqual(sections.dropFirst().first, .pages(slot: 0, pages))
        try write(dir + "/v2.snap", version: 2)
        XCTAssertThrowsError(try F.readAll(F.bytes(dir + "/v2.snap"))) {
            XCTAssertTrue("\($0)".hasPrefix("damaged: section 1: "), "\($0)")
        }
        // Written now: version 2, the migration id kept.
        var config = F.config
        config.migrationID = 77
        try F.write(dir + "/now.snap", header: F.fullHeader(), [(.config, .config(config))] + F.sections(kind: .full, pages: pages).dropFirst())
        let (now, read) = try F.readAll(F.bytes(dir + "/now.snap"))
        XCTAssertEqual(now.version, SnapshotFormat.version)
        XCTAssertEqual(read.first, .config(config))
    }

    func testAWriteThatIsNotCommittedLeavesNothing() throws {
        let dir = try F.tempDir(self)
        FileManager.default.createFile(atPath: dir + "/a.snap", contents: Data("old".utf8))
        do {
            let w = try SnapshotFileWriter(path: dir + "/a.snap", header: F.fullHeader())
            try w.section(.end, SnapshotEnd(sections: 0, pages: 0).encode())
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["a.snap"])
        XCTAssertEqual(FileManager.default.contents(atPath: dir + "/a.snap"), Data("old".utf8))
        XCTAssertThrowsError(try SnapshotFileWriter(path: dir + "/no/such/a.snap", header: F.fullHeader())) {
            XCTAssertTrue("\($0)".hasPrefix("\(dir)/no/such/a.snap: cannot create a file in \(dir)/no/such: No such file or directory"), "\($0)")
        }
    }
}
