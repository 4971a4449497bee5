import Display
import Foundation
import Input
import NIOCore
@testable import RFB
import Testing
import TestSupport

@Suite("RFB input")
struct InputTests {
    @Test("keysyms map to evdev codes; a shifted symbol typed without Shift gets one around it")
    func keys() {
        var t = InputTranslator()
        #expect(t.key(down: true, keysym: 0x61) == [.key(code: 30, down: true)]) // a -> KEY_A
        #expect(t.key(down: false, keysym: 0x61) == [.key(code: 30, down: false)])
        #expect(t.key(down: true, keysym: 0x48) == [.key(code: 42, down: true), .key(code: 35, down: true)]) // H
        #expect(t.key(down: false, keysym: 0x48) == [.key(code: 35, down: false), .key(code: 42, down: false)])
        #expect(t.key(down: true, keysym: 0xFFE1) == [.key(code: 42, down: true)])
        #expect(t.key(down: true, keysym: 0x21) == [.key(code: 2, down: true)]) // ! with Shift held
        #expect(t.key(down: true, keysym: 0xFF0D) == [.key(code: 28, down: true)]) // Return
        #expect(t.key(down: true, keysym: 0xFFC9) == [.key(code: 88, down: true)]) // F12
        #expect(t.key(down: true, keysym: 0xFF52) == [.key(code: 103, down: true)]) // Up
        #expect(t.key(down: true, keysym: 0x20AC).isEmpty, "a symbol not in the table is ignored")
    }

    @Test("QEMU Extended Key Events: XT codes straight to evdev codes, whatever the keysym; 0xE0 codes as 0x80 | code or 0xE0xx; unknown codes fall back to the keysym")
    func extendedKeys() {
        #expect(XTScancodes.evdev(0x1E) == 30) // A
        #expect(XTScancodes.evdev(0x2A) == 42) // left Shift
        #expect(XTScancodes.evdev(0x53) == 83) // keypad '.'
        #expect(XTScancodes.evdev(0x57) == 87 && XTScancodes.evdev(0x58) == 88) // F11, F12
        #expect(XTScancodes.evdev(0x56) == 86) // the 102nd key (ISO '<>')
        #expect(XTScancodes.evdev(0xC8) == 103 && XTScancodes.evdev(0xE048) == 103) // Up
        #expect(XTScancodes.evdev(0x9C) == 96 && XTScancodes.evdev(0x9D) == 97 && XTScancodes.evdev(0xB8) == 100) // KP Enter, right Ctrl, AltGr
        #expect(XTScancodes.evdev(0xD3) == 111 && XTScancodes.evdev(0xDB) == 125) // Delete, left Meta
        #expect(XTScancodes.evdev(0) == nil && XTScancodes.evdev(0x1FF) == nil && XTScancodes.evdev(0xFFFF_FFFF) == nil)
        var t = InputTranslator()
        // A German keyboard's Z is the US Y key: the guest gets KEY_Y (21), no Shift added.
        #expect(t.extendedKey(down: true, keysym: 0x7A, keycode: 0x15) == [.key(code: 21, down: true)])
        #expect(t.extendedKey(down: true, keysym: 0x5A, keycode: 0x15) == [.key(code: 21, down: true)], "'Z' gets no Shift added")
        #expect(t.extendedKey(down: true, keysym: 0x61, keycode: 0) == [.key(code: 30, down: true)], "no code: the keysym")
        #expect(t.releaseAll() == [.key(code: 21, down: false), .key(code: 30, down: false)])
    }

    @Test("pointer: absolute position clamped to the screen, button edges, buttons 4/5 as wheel clicks")
    func pointer() {
        var t = InputTranslator()
        #expect(t.pointer(buttons: 0, x: 10, y: 20, width: 100, height: 50) == [.pointer(x: 10, y: 20)])
        #expect(t.pointer(buttons: 1, x: 10, y: 20, width: 100, height: 50) == [.button(.left, down: true)])
        #expect(t.pointer(buttons: 4, x: 500, y: 20, width: 100, height: 50)
                == [.pointer(x: 99, y: 20), .button(.left, down: false), .button(.right, down: true)])
        #expect(t.pointer(buttons: 4 | 8, x: 99, y: 20, width: 100, height: 50) == [.wheel(vertical: 1, horizontal: 0)])
        #expect(t.pointer(buttons: 4, x: 99, y: 20, width: 100, height: 50).isEmpty)
        #expect(t.pointer(buttons: 4 | 16, x: 99, y: 20, width: 100, height: 50) == [.wheel(vertical: -1, horizontal: 0)])
    }
}
