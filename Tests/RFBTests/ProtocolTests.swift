import Display
import Foundation
import Input
import NIOCore
@testable import RFB
import Testing
import TestSupport

/// A seeded generator, so a failing case can be replayed.

/// Feeds `input` to a fresh protocol in one piece or in `chunks`; returns what it said and why it stopped.
func drive(_ input: [UInt8], password: [UInt8]? = nil, chunks: [Int]? = nil)
    -> (events: [RFBServerProtocol.Event], output: [UInt8], error: RFBProtocolError?) {
    var p = RFBServerProtocol(password: password, challenge: Array(0..<16))
    var buffer = ByteBuffer()
    var events: [RFBServerProtocol.Event] = [], output: [UInt8] = []
    var offset = 0
    let sizes = chunks ?? [input.count]
    var i = 0
    while offset < input.count || i == 0 {
        let n = min(max(1, sizes[i % sizes.count]), input.count - offset)
        buffer.writeBytes(input[offset..<offset + n])
        offset += n
        i += 1
        do {
            while let e = try p.next(&buffer, output: &output) { events.append(e) }
        } catch {
            return (events, output, error)
        }
        if input.isEmpty { break }
    }
    return (events, output, nil)
}

@Suite("RFB handshake")
struct HandshakeTests {
    @Test("versions 3.3, 3.7, 3.8 are accepted; 3.4-3.6 mean 3.3, 3.889 means 3.8; others are refused with a line")
    func versions() throws {
        func v(_ s: String) throws -> RFBVersion { try RFBVersion.parse(Array(s.utf8)) }
        #expect(try v("RFB 003.003\n") == .v3_3)
        #expect(try v("RFB 003.005\n") == .v3_3)
        #expect(try v("RFB 003.007\n") == .v3_7)
        #expect(try v("RFB 003.008\n") == .v3_8)
        #expect(try v("RFB 003.889\n") == .v3_8)
        #expect(throws: RFBProtocolError.unsupportedVersion("4.1")) { try v("RFB 004.001\n") }
        #expect(throws: RFBProtocolError.notRFB("'SSH-2.0-Open'")) { try v("SSH-2.0-Open") }
        #expect(throws: RFBProtocolError.notRFB("'RFB 003.00x?'")) { try v("RFB 003.00x\n") }
    }

    @Test("3.8 with None: one security type, an OK result, then ClientInit")
    func none38() {
        let r = drive(Array("RFB 003.008\n".utf8) + [1, 1])
        #expect(r.error == nil)
        #expect(r.output == [1, 1, 0, 0, 0, 0])
        #expect(r.events == [.initialized(version: .v3_8, shared: true)])
    }

    @Test("3.7 with None has no SecurityResult; 3.3 gets the type as a word")
    func older() {
        let r7 = drive(Array("RFB 003.007\n".utf8) + [1, 0])
        #expect(r7.output == [1, 1])
        #expect(r7.events == [.initialized(version: .v3_7, shared: false)])
        let r3 = drive(Array("RFB 003.003\n".utf8) + [1])
        #expect(r3.output == [0, 0, 0, 1])
        #expect(r3.events == [.initialized(version: .v3_3, shared: true)])
    }

    @Test("VNC Authentication: libcrypto's DES with the bit-reversed key gives the known answer")
    func knownAnswer() {
        // From `openssl enc -des-ecb -K cea6d64e962e0000 -nopad` over the bytes 0...15.
        #expect(VNCAuthentication.key(password: Array("sekrit".utf8)) == [0xCE, 0xA6, 0xD6, 0x4E, 0x96, 0x2E, 0, 0])
        let expected: [UInt8] = [0xFD, 0x0F, 0x31, 0x44, 0xFC, 0xB5, 0x0F, 0xF0, 0xEB, 0x19, 0xDE, 0x15, 0x49, 0xD5, 0xE5, 0xF2]
        #expect(VNCAuthentication.response(challenge: Array(0..<16), password: Array("sekrit".utf8)) == expected)
        // Only the first 8 bytes count.
        #expect(VNCAuthentication.response(challenge: Array(0..<16), password: Array("12345678xyz".utf8))
                == VNCAuthentication.response(challenge: Array(0..<16), password: Array("12345678".utf8)))
    }

    @Test("the right response passes, a wrong one gets a failed result with a reason and drops the client", arguments: ["3.3", "3.7", "3.8"])
    func auth(version: String) throws {
        let pw = Array("sekrit".utf8)
        let good = VNCAuthentication.response(challenge: Array(0..<16), password: pw)!
        let greeting = Array("RFB 003.00\(version.last!)\n".utf8) + (version == "3.3" ? [] : [2])
        let ok = drive(greeting + good + [1], password: pw)
        #expect(ok.error == nil)
        #expect(ok.events.count == 1)
        #expect(Array(ok.output.suffix(4)) == [0, 0, 0, 0])
        #expect(ok.output.contains(0) && Array(ok.output[(version == "3.3" ? 4 : 2)...].prefix(16)) == Array(0..<16))
        var bad = good
        bad[3] ^= 1
        let no = drive(greeting + bad + [1], password: pw)
        #expect(no.error == .authenticationFailed)
        #expect(no.events.isEmpty)
        if version == "3.8" { #expect(String(decoding: no.output.suffix(14), as: UTF8.self) == "wrong password") }
        else { #expect(Array(no.output.suffix(4)) == [0, 0, 0, 1]) }
    }

    @Test("a security type that was not offered is refused")
    func wrongType() {
        #expect(drive(Array("RFB 003.008\n".utf8) + [2]).error == .badSecurityType(2))
    }
}

@Suite("RFB client messages")
struct ClientMessageTests {
    static let handshake = Array("RFB 003.008\n".utf8) + [1, 1]
    static let messages: [UInt8] =
        [0, 0, 0, 0] + PixelFormat(bitsPerPixel: 16, depth: 16, bigEndian: true, trueColour: true, redMax: 31, greenMax: 63, blueMax: 31,
                                   redShift: 11, greenShift: 5, blueShift: 0).bytes
        // Tight, ZRLE, Raw, DesktopSize, JPEG quality level 5, fine quality 62, subsampling 2X.
        + [2, 0, 0, 7, 0, 0, 0, 7, 0, 0, 0, 16, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0x21, 0xFF, 0xFF, 0xFF, 0xE5, 0xFF, 0xFF, 0xFE, 0x3E, 0xFF, 0xFF, 0xFD, 0x02]
        + [3, 1, 0, 10, 0, 20, 1, 0, 0, 200]
        + [4, 1, 0, 0, 0, 0, 0xFF, 0x0D]
        + [5, 9, 0x01, 0x02, 0x00, 0x30]
        + [6, 0, 0, 0, 0, 0, 0, 5] + Array("hello".utf8)
        // QEMU Extended Key Events: 'a' down with XT code 0x1E; Up released with 0xE0 0x48 as 0xC8.
        + [255, 0, 0, 1, 0, 0, 0, 0x61, 0, 0, 0, 0x1E]
        + [255, 0, 0, 0, 0, 0, 0xFF, 0x52, 0, 0, 0, 0xC8]
        + [4, 0, 0, 0, 0, 0, 0, 0x61]
        // EnableContinuousUpdates over 320x200 at (1, 2), then off; a ClientFence request
        // (BlockBefore | SyncNext) with a 2-byte payload, and an empty reply.
        + [150, 1, 0, 1, 0, 2, 1, 0x40, 0, 200]
        + [150, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        + [248, 0, 0, 0, 0x80, 0, 0, 0x05, 2, 0xAB, 0xCD]
        + [248, 0, 0, 0, 0, 0, 0, 0, 0]
    static let expected: [RFBServerProtocol.Event] = [
        .initialized(version: .v3_8, shared: true),
        .message(.setPixelFormat(PixelFormat(bitsPerPixel: 16, depth: 16, bigEndian: true, trueColour: true, redMax: 31, greenMax: 63,
                                             blueMax: 31, redShift: 11, greenShift: 5, blueShift: 0))),
        .message(.setEncodings([7, 16, 0, -223, -27, -450, -766])),
        .message(.updateRequest(incremental: true, RFBRect(x: 10, y: 20, width: 256, height: 200))),
        .message(.key(down: true, keysym: 0xFF0D)),
        .message(.pointer(buttons: 9, x: 258, y: 48)),
        .message(.cutText(length: 5)),
        .message(.extendedKey(down: true, keysym: 0x61, keycode: 0x1E)),
        .message(.extendedKey(down: false, keysym: 0xFF52, keycode: 0xC8)),
        .message(.key(down: false, keysym: 0x61)),
        .message(.enableContinuousUpdates(enable: true, RFBRect(x: 1, y: 2, width: 320, height: 200))),
        .message(.enableContinuousUpdates(enable: false, RFBRect(x: 0, y: 0, width: 0, height: 0))),
        .message(.fence(flags: 0x8000_0005, payload: [0xAB, 0xCD])),
        .message(.fence(flags: 0, payload: [])),
    ]

    @Test("every message type decodes the same whether it arrives whole or a byte at a time", arguments: [nil, [1], [2, 3], [7], [19, 1]])
    func chunked(chunks: [Int]?) {
        let r = drive(Self.handshake + Self.messages, chunks: chunks)
        #expect(r.error == nil)
        #expect(r.events == Self.expected)
    }

    @Test("SetPixelFormat with 0 or 24 bpp, colour maps or bad maxima is refused with a reason")
    func badFormats() {
        func format(_ bpp: UInt8, trueColour: Bool = true, redMax: UInt16 = 255) -> [UInt8] {
            [0, 0, 0, 0] + PixelFormat(bitsPerPixel: bpp, depth: 24, bigEndian: false, trueColour: trueColour, redMax: redMax, greenMax: 255,
                                       blueMax: 255, redShift: 16, greenShift: 8, blueShift: 0).bytes
        }
        #expect(drive(Self.handshake + format(0)).error == .badPixelFormat("0 bits per pixel is not supported (use 8, 16 or 32)"))
        #expect(drive(Self.handshake + format(24)).error == .badPixelFormat("24 bits per pixel is not supported (use 8, 16 or 32)"))
        #expect(drive(Self.handshake + format(32, trueColour: false)).error == .badPixelFormat("colour-map pixel formats are not supported (use true colour)"))
        #expect(drive(Self.handshake + format(32, redMax: 100)).error == .badPixelFormat("red-max 100 is not 2^n - 1"))
        #expect(drive(Self.handshake + format(16)).error != nil, "8-bit channels at shift 16 do not fit in 16 bits")
    }

    @Test("SetEncodings with more than 1024 entries and ClientCutText over 16 MiB are refused before anything is allocated")
    func bounds() {
        #expect(drive(Self.handshake + [2, 0, 0xFF, 0xFF]).error == .tooManyEncodings(65535))
        #expect(drive(Self.handshake + [6, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF]).error == .cutTextTooLong(0xFFFF_FFFF))
        #expect(drive(Self.handshake + [200]).error == .unknownMessage(200))
        #expect(drive(Self.handshake + [255, 1, 0, 0]).error == .unknownQEMUMessage(1), "QEMU's audio messages are not understood")
        // A fence payload over 64 bytes is refused from its length, before the payload arrives.
        #expect(drive(Self.handshake + [248, 0, 0, 0, 0x80, 0, 0, 0, 65]).error == .fencePayloadTooLong(65))
        #expect(drive(Self.handshake + [248, 0, 0, 0, 0x80, 0, 0, 0, 64] + [UInt8](repeating: 7, count: 64)).events.last
                == .message(.fence(flags: 0x8000_0000, payload: [UInt8](repeating: 7, count: 64))))
    }


    @Test("a 1 MiB ClientCutText is skipped as it arrives, keeping nothing, and the next message follows")
    func cutTextSkipped() {
        var p = RFBServerProtocol(password: nil, challenge: Array(0..<16))
        var b = ByteBuffer(bytes: Self.handshake)
        var out: [UInt8] = []
        #expect(try! p.next(&b, output: &out) == .initialized(version: .v3_8, shared: true))
        b.writeBytes([6, 0, 0, 0, 0, 0x10, 0, 0])
        #expect(try! p.next(&b, output: &out) == .message(.cutText(length: 1 << 20)))
        for _ in 0..<16 {
            b.writeBytes([UInt8](repeating: 0x41, count: 65536))
            #expect(try! p.next(&b, output: &out) == nil)
            #expect(b.readableBytes == 0, "skipped text is not kept")
            b.discardReadBytes()
        }
        b.writeBytes([4, 1, 0, 0, 0, 0, 0, 0x62])
        #expect(try! p.next(&b, output: &out) == .message(.key(down: true, keysym: 0x62)))
    }

    @Test("fuzz: random and mutated byte streams, whole or in random chunks, end in a message list or one error, the same either way")
    func fuzz() {
        var rng = SplitMix(state: 0x5EED_0001)
        let valid = Self.handshake + Self.messages
        var tried = 0, errors = 0, fences = 0, enables = 0
        // RINGSIDE_FUZZ_SECONDS=N runs longer (without the input cap) for a deeper search.
        let long = ProcessInfo.processInfo.environment["RINGSIDE_FUZZ_SECONDS"].flatMap { Int($0) }
        let deadline = ContinuousClock.now + .seconds(long ?? 20)
        while ContinuousClock.now < deadline {
            var input: [UInt8]
            switch rng.next() % 4 {
            case 0: input = (0..<Int(rng.next() % 64)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            case 1:
                // Small message types, QEMU's 255 (subtype 0 most of the time), and
                // EnableContinuousUpdates (150) and ClientFence (248).
                input = Self.handshake + (0..<Int(rng.next() % 256)).map { _ in
                    switch rng.next() % 16 {
                    case 0: return 255
                    case 1: return 150
                    case 2: return 248
                    default: return UInt8(truncatingIfNeeded: rng.next() % 8)
                    }
                }
            case 2:
                input = valid
                for _ in 0..<(1 + rng.next() % 4) {
                    let i = Int(rng.next() % UInt64(input.count))
                    switch rng.next() % 3 {
                    case 0: input[i] ^= UInt8(1 << (rng.next() % 8))
                    case 1: input.insert(UInt8(truncatingIfNeeded: rng.next()), at: i)
                    default: input.remove(at: i)
                    }
                }
            default: input = Array(valid.prefix(Int(rng.next() % UInt64(valid.count))))
            }
            let whole = drive(input)
            let chunks = (0..<4).map { _ in 1 + Int(rng.next() % 13) }
            let pieces = drive(input, chunks: chunks)
            // A greeting of another protocol is refused as soon as it differs, quoting what had arrived.
            func kind(_ e: RFBProtocolError?) -> String { if case .notRFB = e { return "not RFB" }; return "\(String(describing: e))" }
            #expect(whole.events == pieces.events && kind(whole.error) == kind(pieces.error) && whole.output == pieces.output,
                    "input \(input) chunks \(chunks)")
            for e in whole.events {
                if case .message(.enableContinuousUpdates) = e { enables += 1 }
                if case .message(.fence) = e { fences += 1 }
                Self.checkFuzzed(e)
            }
            if whole.error != nil { errors += 1 }
            tried += 1
            if long == nil && tried % 1000 == 0 && tried >= 200_000 { break }
        }
        print("RFB parser fuzz: \(tried) inputs tried (each whole and in random chunks), \(errors) refused with a line, \(fences) fences and \(enables) EnableContinuousUpdates parsed")
        #expect(tried > 10_000)
        #expect(fences > 0 && enables > 0, "the inputs reach the continuous-update and fence messages")
    }

    /// What any parsed message must satisfy, whatever the input.
    static func checkFuzzed(_ e: RFBServerProtocol.Event) {
        if case .message(.setEncodings(let l)) = e {
            #expect(l.count <= ClientMessageParser.maxEncodings)
            // Whatever JPEG quality and subsampling values a client sends, the choice stays in range.
            let c = EncodingChoice(clientList: l)
            if let j = c.jpeg { #expect((1...100).contains(j.quality) && c.encoding == EncodingType.tight) }
        }
        if case .message(.setPixelFormat(let f)) = e { #expect(f.validate() == nil) }
        if case .message(.fence(let flags, let payload)) = e {
            // Any fence gets a well-formed reply: no Request bit, the payload echoed.
            let reply = ContinuousServerMessage.fence(flags: FenceFlags.reply(to: flags), payload: payload)
            #expect(payload.count <= ClientMessageParser.maxFencePayload && reply.count == 9 + payload.count && reply[4] & 0x80 == 0)
        }
        if case .message(.extendedKey(let down, let keysym, let keycode)) = e {
            // Any XT code: one evdev key, or the keysym's own translation.
            var t = InputTranslator()
            #expect(t.extendedKey(down: down, keysym: keysym, keycode: keycode).count <= 2)
        }
    }
}

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
