import Foundation
import Input
import KVM
import Machine
import TestSupport
import XCTest

/// What the guest input tests share (assets/guests/README.md, "Input"): events pushed at
/// vCPU 0's doorbell of frame f - 1 are applied by every vCPU at the start of frame f, so
/// each picture in them is a function of the events and the frame number.
protocol GuestInputFixtures {}

extension GuestInputFixtures {
    // Evdev key codes used by the tests.
    static var keyA: UInt16 { 30 }
    static var keyC: UInt16 { 46 }
    static var keyH: UInt16 { 35 }
    static var keyI: UInt16 { 23 }
    static var keyK: UInt16 { 37 }
    static var keyO: UInt16 { 24 }
    static var keyX: UInt16 { 45 }
    static var keyEnter: UInt16 { 28 }
    static var keyBackspace: UInt16 { 14 }
    static var keyLeftShift: UInt16 { 42 }
    static var keyCapsLock: UInt16 { 58 }
    static var key3: UInt16 { 4 }

    /// Key presses (down, up) for `codes`, one key per frame from `frame` on.
    func typing(_ codes: [UInt16], from frame: Int) -> [Int: [InputEvent]] {
        var out: [Int: [InputEvent]] = [:]
        for (i, c) in codes.enumerated() { out[frame + i] = [.key(code: c, down: true), .key(code: c, down: false)] }
        return out
    }

    func merged(_ parts: [Int: [InputEvent]]...) -> [Int: [InputEvent]] {
        var out: [Int: [InputEvent]] = [:]
        for p in parts { for (f, list) in p { out[f, default: []] += list } }
        return out
    }
}
