import Input
import KVM
import Machine
import TestSupport
import XCTest

/// The VMM side of the guest input queue on a real machine's RAM. The test plays the guest:
/// it reads events from the ring page and advances `tail` itself.
final class InputQueueTests: XCTestCase {
    let base = Int(GuestLayout.inputQueue)
    let capacity = GuestInputQueue.capacity

    func machine() throws -> Machine {
        try Machine(system: try requireKVM(), config: try testConfig("idle", frames: 1))
    }

    func word(_ m: Machine, _ offset: Int) -> UInt32 { m.ram.pointer(at: base + offset).load(as: UInt32.self) }
    func event(_ m: Machine, _ i: UInt32) -> (type: UInt16, code: UInt16, value: Int32, x: Int32, y: Int32) {
        let p = UnsafeRawPointer(m.ram.pointer(at: base + 192 + Int(i % UInt32(capacity)) * 16))
        return (p.load(as: UInt16.self), p.load(fromByteOffset: 2, as: UInt16.self), p.load(fromByteOffset: 4, as: Int32.self),
                p.load(fromByteOffset: 8, as: Int32.self), p.load(fromByteOffset: 12, as: Int32.self))
    }
    func setTail(_ m: Machine, _ v: UInt32) { m.ram.pointer(at: base + 128).storeBytes(of: v, as: UInt32.self) }

    func testBootWritesAnEmptyQueueAndTheBootInfoPointsToIt() throws {
        let m = try machine()
        XCTAssertEqual(word(m, 0), 0x5149_5352, "magic RSIQ")
        XCTAssertEqual(word(m, 4), UInt32(capacity))
        XCTAssertEqual(word(m, 64), 0, "head")
        XCTAssertEqual(word(m, 128), 0, "tail")
        let info = Int(GuestLayout.bootInfo)
        XCTAssertEqual(m.ram.pointer(at: info + 4).load(as: UInt32.self), 4, "boot info version 4: the built-in guests declare it (version 2 added the queue)")
        XCTAssertEqual(m.ram.pointer(at: info + 96).load(as: UInt64.self), GuestLayout.inputQueue)
    }

    func testEventsAreEncodedAsTheABISays() throws {
        let m = try machine()
        m.input.push(.key(code: 30, down: true))
        m.input.push(.pointer(x: 400, y: 300))
        m.input.push(.button(.right, down: false))
        m.input.push(.wheel(vertical: -2, horizontal: 1))
        m.input.push(.displaySize(width: 1920, height: 1080))
        m.input.push(.keyRepeat(code: 30))
        XCTAssertEqual(word(m, 64), 6, "head published")
        XCTAssertTrue(event(m, 0) == (1, 30, 1, 0, 0))
        XCTAssertTrue(event(m, 1) == (2, 0, 0, 400, 300))
        XCTAssertTrue(event(m, 2) == (3, 0x111, 0, 400, 300), "a button carries where the pointer is")
        XCTAssertTrue(event(m, 3) == (4, 0, -2, 1, 0))
        XCTAssertTrue(event(m, 4) == (5, 0, 0, 1920, 1080))
        XCTAssertTrue(event(m, 5) == (1, 30, 2, 0, 0), "an auto-repeat is evdev value 2")
        XCTAssertEqual(GuestInputQueue.event(type: 1, code: 30, value: 2, x: 0, y: 0), .keyRepeat(code: 30), "and reads back (a migration stream)")
        XCTAssertNil(GuestInputQueue.event(type: 1, code: 30, value: 3, x: 0, y: 0))
    }

    func testAFullQueueKeepsEveryKeyInOrderAndCoalescesOnlyMotion() throws {
        let m = try machine()
        // Fill the ring, then keep typing with the pointer moving in between.
        for i in 0..<capacity { m.input.push(.key(code: UInt16(i % 100 + 1), down: true)) }
        XCTAssertEqual(word(m, 64), UInt32(capacity))
        m.input.push(.pointer(x: 1, y: 1))
        m.input.push(.pointer(x: 2, y: 2))
        m.input.push(.pointer(x: 3, y: 3))
        m.input.push(.key(code: 200, down: true))
        m.input.push(.pointer(x: 4, y: 4))
        m.input.push(.key(code: 200, down: false))
        XCTAssertEqual(word(m, 64), UInt32(capacity), "nothing overwrites unread events")
        XCTAssertEqual(m.input.waitingEvents, [.pointer(x: 3, y: 3), .key(code: 200, down: true), .pointer(x: 4, y: 4), .key(code: 200, down: false)])
        XCTAssertEqual(m.input.stats.coalescedMotions, 2)

        // The guest consumes two events: two more move in, in order.
        setTail(m, 2)
        m.input.deliver()
        XCTAssertEqual(word(m, 64), UInt32(capacity + 2))
        XCTAssertTrue(event(m, UInt32(capacity)) == (2, 0, 0, 3, 3))
        XCTAssertTrue(event(m, UInt32(capacity + 1)) == (1, 200, 1, 0, 0))
        setTail(m, UInt32(capacity + 2))
        m.input.deliver()
        XCTAssertEqual(word(m, 64), UInt32(capacity + 4))
        XCTAssertEqual(m.input.waitingEvents, [])
        XCTAssertEqual(m.input.stats.delivered, capacity + 4)
    }

    func testButtonsCarryTheLastPointerPositionAlsoAfterARestore() throws {
        let m = try machine()
        m.input.push(.button(.left, down: true))
        XCTAssertTrue(event(m, 0) == (3, 0x110, 1, 0, 0), "no pointer yet: (0, 0)")
        m.input.push(.pointer(x: 17, y: 23))
        m.input.push(.button(.left, down: false))
        XCTAssertTrue(event(m, 2) == (3, 0x110, 0, 17, 23))
        let r = try Machine(system: try requireKVM(), config: m.config, restoring: try m.snapshot())
        r.input.push(.button(.middle, down: true))
        let p = UnsafeRawPointer(r.ram.pointer(at: base + 192 + 3 * 16))
        XCTAssertEqual(p.load(fromByteOffset: 8, as: Int32.self), 17)
        XCTAssertEqual(p.load(fromByteOffset: 12, as: Int32.self), 23)
    }

    /// A migration destination builds its machine over zeroed RAM and writes the pages later:
    /// the queue must continue from the head that arrived, not from 0.
    func testAnIncomingMachineContinuesFromTheHeadThatArrivedWithItsPages() throws {
        let m = try machine()
        for i in 0..<5 { m.input.push(.key(code: UInt16(i + 1), down: true)) }
        setTail(m, 5)
        let snapshot = try m.snapshot()
        let incoming = try Machine(system: try requireKVM(), incoming: m.config)
        XCTAssertEqual(incoming.ram.pointer(at: base + 64).load(as: UInt32.self), 0, "nothing has arrived yet")
        snapshot.ram.withUnsafeBytes { incoming.writeGuest($0, at: 0) }
        for (i, state) in snapshot.vcpus.enumerated() { try incoming.vcpu(i).loadState(state) }
        try incoming.restoreFrameCounts(snapshot.frameCounts)
        incoming.start()
        incoming.stopAndWait()
        incoming.input.push(.key(code: 99, down: true))
        XCTAssertEqual(incoming.ram.pointer(at: base + 64).load(as: UInt32.self), 6, "head continued from 5")
        XCTAssertTrue(event(incoming, 5) == (1, 99, 1, 0, 0))
    }

    /// Events waiting in the VMM are device state: a snapshot carries them, the restored
    /// machine delivers them once the guest makes room, in order.
    func testWaitingEventsSurviveASnapshotAndArriveInOrder() throws {
        let m = try machine()
        for i in 0..<capacity { m.input.push(.key(code: UInt16(i % 100 + 1), down: true)) }
        m.input.push(.key(code: 200, down: true))
        m.input.push(.pointer(x: 9, y: 9))
        m.input.push(.button(.left, down: true))
        let waiting: [InputEvent] = [.key(code: 200, down: true), .pointer(x: 9, y: 9), .button(.left, down: true)]
        XCTAssertEqual(m.input.waitingEvents, waiting)
        let snapshot = try m.snapshot()
        XCTAssertEqual(snapshot.inputWaiting, waiting)
        let r = try Machine(system: try requireKVM(), config: m.config, restoring: snapshot)
        XCTAssertEqual(r.input.waitingEvents, waiting, "still waiting: the restored ring is full too")
        r.ram.pointer(at: base + 128).storeBytes(of: UInt32(3), as: UInt32.self) // the guest read 3
        r.input.deliver()
        XCTAssertEqual(r.input.waitingEvents, [])
        XCTAssertTrue(event(r, UInt32(capacity)) == (1, 200, 1, 0, 0))
        XCTAssertTrue(event(r, UInt32(capacity + 2)) == (3, 0x110, 1, 9, 9))
    }

    /// While held (a migration's last phase), nothing reaches the ring; releasing delivers.
    func testAHeldQueueWritesNothingUntilReleased() throws {
        let m = try machine()
        m.input.setHeld(true)
        m.input.push(.key(code: 30, down: true))
        XCTAssertEqual(word(m, 64), 0)
        XCTAssertEqual(m.input.waitingEvents, [.key(code: 30, down: true)])
        m.input.setHeld(false)
        XCTAssertEqual(word(m, 64), 1)
    }

    func testHeadAndTailWrapAt32Bits() throws {
        let m = try machine()
        // Start near the wrap as a long-running guest would be.
        m.ram.pointer(at: base + 64).storeBytes(of: UInt32.max - 1, as: UInt32.self)
        setTail(m, UInt32.max - 1)
        // A queue built over this RAM continues from its head (as a restored guest's does).
        let snapshot = try m.snapshot()
        let r = try Machine(system: try requireKVM(), config: m.config, restoring: snapshot)
        for i in 0..<5 { r.input.push(.key(code: UInt16(i + 1), down: true)) }
        XCTAssertEqual(r.ram.pointer(at: base + 64).load(as: UInt32.self), 3, "head wrapped: max-1 + 5")
        XCTAssertEqual(r.input.stats.delivered, 5)
    }

    func testAGuestThatCorruptsTailStopsDeliveryButLosesNothing() throws {
        let m = try machine()
        setTail(m, 1000) // never given out
        m.input.push(.key(code: 30, down: true))
        XCTAssertEqual(word(m, 64), 0, "nothing written while tail is impossible")
        XCTAssertEqual(m.input.waitingEvents, [.key(code: 30, down: true)])
        XCTAssertGreaterThan(m.input.stats.badTail, 0)
        setTail(m, 0)
        m.input.deliver()
        XCTAssertEqual(word(m, 64), 1)
        XCTAssertEqual(m.input.waitingEvents, [])
    }

    func testQueueWritesAreTrackedForDirtyConsumers() throws {
        let m = try machine()
        m.drainGuestWrites { _, _ in } // boot's writes
        m.input.push(.key(code: 30, down: true))
        var pages: [(UInt32, UInt64)] = []
        m.drainGuestWrites { slot, page in pages.append((slot, page)) }
        XCTAssertTrue(pages.contains { $0.0 == GuestLayout.ramSlot && $0.1 == GuestLayout.inputQueue / 4096 }, "\(pages)")
    }
}
