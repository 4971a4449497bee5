import Display
import Foundation
import Input
import NIOCore
@testable import RFB
import Testing
import TestSupport

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
