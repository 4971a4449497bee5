import Foundation
import Input
@testable import RFB
import Testing

@Suite("Held input and password files", .serialized)
struct HeldInputAndPasswordTests {
    @Test("releaseAll lets go of keys (a Shift added for a symbol too) and buttons, once")
    func releaseAll() {
        var t = InputTranslator()
        _ = t.key(down: true, keysym: 0x21) // '!': Shift added, then KEY_1
        _ = t.pointer(buttons: 2, x: 1, y: 1, width: 10, height: 10)
        _ = t.key(down: true, keysym: 0x62)
        _ = t.key(down: false, keysym: 0x62)
        #expect(t.releaseAll() == [.key(code: 2, down: false), .key(code: 42, down: false), .button(.middle, down: false)])
        #expect(t.releaseAll() == [])
    }

    @Test("a password file's first line without \\n or \\r\\n; other control characters are kept and listed")
    func passwordFile() {
        func f(_ s: String) -> VNCPasswordFile { VNCPasswordFile(contents: Array(s.utf8)) }
        #expect(f("abc\r\n").password == Array("abc".utf8))
        #expect(f("abc\r\n").controlCharacters == [])
        #expect(f("abc\n").password == Array("abc".utf8))
        #expect(f("abc").password == Array("abc".utf8))
        #expect(f("abc\nsecond line\n").password == Array("abc".utf8))
        #expect(f("ab\tc\n").controlCharacters == [9])
        #expect(f("ab\tc\n").controlCharacterList == "0x09")
        #expect(f("abc\r").password == Array("abc\r".utf8), "a lone CR with no line feed is kept")
        #expect(f("abc\r\r\n").controlCharacters == [13], "only one line ending is taken off")
        #expect(f("\r\n").password == [])
    }

    @Test("what a client held goes up when it leaves: keys in code order, then buttons")
    func releasedOnDisconnect() throws {
        let recorder = RecordingInput()
        var o = RFBServerOptions()
        o.port = 0
        let server = try RFBServer(source: MemorySource(width: 64, height: 16), options: o, input: recorder, log: { _ in })
        defer { server.stop() }
        do {
            let c = AddressedSocket(port: server.port, source: "127.0.0.1")
            #expect(c.joinWithoutPassword(shared: true))
            // Shift_L down, 'a' down, left and right buttons down at (5, 6).
            c.send([4, 1, 0, 0, 0, 0, 0xFF, 0xE1, 4, 1, 0, 0, 0, 0, 0, 0x61, 5, 5, 0, 5, 0, 6])
            #expect(eventually { recorder.events.count == 5 })
        }
        #expect(eventually { recorder.events.count == 9 })
        #expect(Array(recorder.events.suffix(4)) == [.key(code: 30, down: false), .key(code: 42, down: false),
                                                     .button(.left, down: false), .button(.right, down: false)])
    }
}
