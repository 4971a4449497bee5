import Foundation
import Input
import KVM
import Machine
import TestSupport
import XCTest

/// The guests' side of the input queue on real KVM (assets/guests/README.md, "Input"): events
/// pushed at vCPU 0's doorbell of frame f - 1 are applied by every vCPU at the start of frame
/// f. Here, input no guest should get: floods, long random play, a queue head out of range,
/// and guests that do not read input at all.
final class GuestInputTests: XCTestCase, GuestInputFixtures {
    func testAFloodOfEventsNeitherCrashesNorLosesKeys() throws {
        var rng = SystemRandomNumberGenerator()
        for guest in ["desktop", "terminal", "paint"] {
            var flood: [InputEvent] = []
            for _ in 0..<3000 {
                switch Int.random(in: 0..<4, using: &rng) {
                case 0: flood.append(.key(code: UInt16.random(in: 0...300, using: &rng), down: Bool.random(using: &rng)))
                case 1: flood.append(.button(PointerButton.allCases.randomElement(using: &rng)!, down: Bool.random(using: &rng)))
                case 2: flood.append(.wheel(vertical: Int32.random(in: -100...100, using: &rng), horizontal: 0))
                default: flood.append(.pointer(x: Int32.random(in: -5000...5000, using: &rng), y: Int32.random(in: -5000...5000, using: &rng)))
                }
            }
            let r = try runGuest(guest, args: guest == "terminal" ? "lines=2" : "", frames: 60, events: [2: flood])
            XCTAssertEqual(r.machine.input.waitingEvents, [], "\(guest): the guest drained the queue")
            let stats = r.machine.input.stats
            XCTAssertEqual(stats.delivered + stats.coalescedMotions, flood.count, "\(guest): every event delivered or coalesced")
            XCTAssertTrue(r.machine.input.guestReadsInput, "\(guest) announced RS_GUEST_READS_INPUT")
        }
    }

    /// Thousands of frames of random clicks, drags, keys and wheel at 640x480: a guest that
    /// indexed out of bounds, or leaked hundreds of bytes per event (its allocator never
    /// frees; 4 MiB in all), would die here.
    func testLongRandomInteractionKeepsEveryGuestRunning() throws {
        var rng = SystemRandomNumberGenerator()
        let frames = 3000
        for guest in ["desktop", "terminal", "paint"] {
            var events: [Int: [InputEvent]] = [:]
            var count = 0
            for f in 2...frames {
                var list: [InputEvent] = []
                for _ in 0..<Int.random(in: 0...4, using: &rng) {
                    switch Int.random(in: 0..<8, using: &rng) {
                    case 0: list.append(.button(.left, down: Bool.random(using: &rng)))
                    case 1: list.append(.button(.right, down: Bool.random(using: &rng)))
                    case 2, 3: list.append(.key(code: UInt16.random(in: 1...120, using: &rng), down: Bool.random(using: &rng)))
                    case 4: list.append(.wheel(vertical: Int32.random(in: -3...3, using: &rng), horizontal: 0))
                    default: list.append(.pointer(x: Int32.random(in: -50...690, using: &rng), y: Int32.random(in: -50...530, using: &rng)))
                    }
                }
                count += list.count
                events[f] = list
            }
            let r = try runGuest(guest, args: guest == "terminal" ? "lines=1" : "", width: 640, height: 480, frames: frames, events: events)
            XCTAssertEqual(r.machine.framesCompleted(cpu: 0), frames, "\(guest) ran all \(frames) frames with \(count) events")
            XCTAssertFalse(r.console.contains { $0.contains("out of memory") }, "\(guest): \(r.console)")
        }
    }

    func testAHeadTooFarAheadIsIgnoredUntilTheVMMPublishesAgain() throws {
        let r = try runGuest("terminal", args: "lines=0", frames: 10, events: typing([Self.keyH], from: 6)) { m in
            // A head 1000 events ahead of tail: more than the queue holds.
            m.ram.pointer(at: Int(GuestLayout.inputQueue) + 64).storeBytes(of: UInt32(1000), as: UInt32.self)
        }
        XCTAssertTrue(r.console.contains { $0.contains("terminal: warning: input queue head 1000 is more than a queue ahead of tail 0") }, "\(r.console)")
        let ok = try runGuest("terminal", args: "lines=0", frames: 10, events: typing([Self.keyH], from: 6))
        assertSamePicture(r, ok, "the next real event is read as if nothing had happened")
    }

    func testGuestsThatIgnoreInputDoNotAnnounceIt() throws {
        let r = try runGuest("bounce", frames: 3)
        XCTAssertFalse(r.machine.input.guestReadsInput)
        // input=0 turns the reader off: the pointer is not followed and the flag stays clear.
        let off = try runGuest("desktop", args: "input=0", frames: 6, events: [2: [.pointer(x: 5, y: 5)]])
        assertSamePicture(off, try runGuest("desktop", frames: 6), "desktop input=0 draws as if no event came")
        XCTAssertFalse(off.machine.input.guestReadsInput)
        XCTAssertEqual(off.machine.input.waitingEvents, [], "the one event fits the ring, unread")
    }
}
