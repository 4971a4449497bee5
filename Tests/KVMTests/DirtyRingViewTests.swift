import KVM
import XCTest

/// The ring walk over a synthetic ring in ordinary memory, playing the kernel's part.
final class DirtyRingViewTests: XCTestCase {
    final class FakeRing {
        let count: Int
        let memory: UnsafeMutableRawPointer
        var produce: UInt32 = 0
        init(count: Int) {
            self.count = count
            memory = .allocate(byteCount: count * 16, alignment: 64)
            memory.initializeMemory(as: UInt8.self, repeating: 0, count: count * 16)
        }
        deinit { memory.deallocate() }
        /// Publishes one entry as the kernel would: slot and offset, then flags = DIRTY.
        func push(slot: UInt32, page: UInt64) {
            let e = memory + Int(produce % UInt32(count)) * 16
            e.storeBytes(of: slot, toByteOffset: 4, as: UInt32.self)
            e.storeBytes(of: page, toByteOffset: 8, as: UInt64.self)
            e.storeBytes(of: 1, as: UInt32.self)
            produce += 1
        }
        func flags(_ i: Int) -> UInt32 { memory.load(fromByteOffset: (i % count) * 16, as: UInt32.self) }
        /// What KVM_RESET_DIRTY_RINGS does to entries userspace marked RESET.
        func kernelReset() {
            for i in 0..<count where flags(i) == 2 { memory.storeBytes(of: 0, toByteOffset: i * 16, as: UInt32.self) }
        }
    }

    func testCollectsEntriesInOrderAndMarksThemReset() {
        let fake = FakeRing(count: 8)
        var ring = DirtyRingView(entries: fake.memory, count: 8)
        fake.push(slot: 1, page: 10)
        fake.push(slot: 0, page: 3)
        var got: [DirtyPage] = []
        XCTAssertEqual(ring.harvest { got.append(DirtyPage(slot: $0, page: $1)) }, 2)
        XCTAssertEqual(got, [DirtyPage(slot: 1, page: 10), DirtyPage(slot: 0, page: 3)])
        XCTAssertEqual(fake.flags(0), 2, "harvested entries are marked RESET")
        XCTAssertEqual(fake.flags(1), 2)
        XCTAssertEqual(ring.fetchIndex, 2)
    }

    func testStopsAtTheFirstEntryNotYetPublished() {
        let fake = FakeRing(count: 8)
        var ring = DirtyRingView(entries: fake.memory, count: 8)
        XCTAssertEqual(ring.harvest { _, _ in XCTFail("empty ring yields nothing") }, 0)
        fake.push(slot: 1, page: 1)
        XCTAssertEqual(ring.harvest { _, _ in }, 1)
        XCTAssertEqual(ring.harvest { _, _ in }, 0, "a second walk without new entries finds nothing")
    }

    func testWrapsAroundTheEndOfTheRing() {
        let fake = FakeRing(count: 4)
        var ring = DirtyRingView(entries: fake.memory, count: 4)
        var pages: [UInt64] = []
        for round in 0..<5 {
            for k in 0..<3 { fake.push(slot: 1, page: UInt64(round * 10 + k)) }
            XCTAssertEqual(ring.harvest { pages.append($1) }, 3)
            fake.kernelReset()
        }
        XCTAssertEqual(pages, (0..<5).flatMap { r in (0..<3).map { UInt64(r * 10 + $0) } })
        XCTAssertEqual(ring.fetchIndex, 15)
    }

    func testPartialBatchesResumeWhereTheLimitStopped() {
        let fake = FakeRing(count: 16)
        var ring = DirtyRingView(entries: fake.memory, count: 16)
        for p in 0..<10 { fake.push(slot: 1, page: UInt64(p)) }
        var pages: [UInt64] = []
        XCTAssertEqual(ring.harvest(limit: 4) { pages.append($1) }, 4)
        XCTAssertEqual(fake.flags(4), 1, "entries past the limit stay DIRTY for the next walk")
        XCTAssertEqual(ring.harvest { pages.append($1) }, 6)
        XCTAssertEqual(pages, (0..<10).map(UInt64.init))
    }
}
