@testable import Tracking
import XCTest

/// The page set's chunked storage: pages on both sides of a chunk edge, unions of allocated
/// and unallocated chunks, and equality that does not care which chunks were ever touched.
final class MigrationPageSetTests: XCTestCase {
    let pagesPerChunk = UInt64(MigrationPageSet.Slot.chunkWords * 64)

    func testPagesAroundChunkEdgesAreKeptInOrder() {
        let count = Int(pagesPerChunk) * 3 + 5 // a short last chunk, a short last word
        var set = MigrationPageSet(pageCounts: [(0, count)])
        let wanted: [UInt64] = [0, pagesPerChunk - 1, pagesPerChunk, 2 * pagesPerChunk + 63, UInt64(count - 1)]
        for p in wanted.reversed() { set.insert(slot: 0, page: p) }
        set.insert(slot: 0, page: UInt64(count)) // past the end: ignored
        set.insert(slot: 0, page: pagesPerChunk) // twice: counted once
        XCTAssertEqual(set.pages(slot: 0), wanted)
        XCTAssertEqual(set.total, wanted.count)
        XCTAssertTrue(set.contains(slot: 0, page: pagesPerChunk))
        XCTAssertFalse(set.contains(slot: 0, page: pagesPerChunk + 1))
        let words = set[slot: 0]!.words
        XCTAssertEqual(words.count, (count + 63) / 64)
        XCTAssertEqual(words.reduce(0) { $0 + $1.nonzeroBitCount }, wanted.count)
    }

    func testAFullSetHasExactlyItsPages() {
        let count = Int(pagesPerChunk) + 70
        let set = MigrationPageSet(pageCounts: [(1, count)], all: true)
        XCTAssertEqual(set.total, count)
        XCTAssertEqual(set.pages(slot: 1).count, count)
        XCTAssertEqual(set.pages(slot: 1).last, UInt64(count - 1))
    }

    func testUnionMergesAllocatedAndUntouchedChunks() {
        let count = Int(pagesPerChunk) * 2
        var a = MigrationPageSet(pageCounts: [(0, count)]), b = a
        a.insert(slot: 0, page: 3)
        b.insert(slot: 0, page: 3)
        b.insert(slot: 0, page: pagesPerChunk + 9)
        a.formUnion(b)
        XCTAssertEqual(a.pages(slot: 0), [3, pagesPerChunk + 9])
        XCTAssertEqual(a.total, 2)
    }

    func testEqualityIgnoresWhichChunksWereAllocated() {
        let count = Int(pagesPerChunk) * 2
        let empty = MigrationPageSet(pageCounts: [(0, count)])
        var touched = empty
        touched.insert(slot: 0, page: pagesPerChunk + 1)
        XCTAssertNotEqual(touched, empty)
        var other = empty
        other.insert(slot: 0, page: 5)
        XCTAssertNotEqual(touched, other)
        XCTAssertEqual(touched.emptied(), empty)
    }
}
