import NIOCore
@testable import RFB
import Testing
import TestSupport

/// SetDesktopSize (message 251) and ExtendedDesktopSize (-308): the parser, the layout
/// checks, the rectangle on the wire, and a million fuzzed messages.
@Suite("ExtendedDesktopSize")
struct DesktopSizeTests {
    static func be16(_ v: Int) -> [UInt8] { [UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
    static func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }

    /// A SetDesktopSize message as a client sends it.
    static func message(width: Int, height: Int, screens: [RFBScreen]) -> [UInt8] {
        var m: [UInt8] = [251, 0] + be16(width) + be16(height) + [UInt8(screens.count), 0]
        for s in screens { m += be32(s.id) + be16(s.x) + be16(s.y) + be16(s.width) + be16(s.height) + be32(s.flags) }
        return m
    }

    @Test("a SetDesktopSize parses whole or byte by byte, consuming exactly its bytes")
    func parses() throws {
        let screens = [RFBScreen(id: 7, x: 0, y: 0, width: 640, height: 480, flags: 0),
                       RFBScreen(id: 9, x: 640, y: 0, width: 384, height: 480, flags: 3)]
        let bytes = Self.message(width: 1024, height: 480, screens: screens) + [4, 1, 0, 0, 0, 0, 0, 0x61]
        let want = ClientMessage.setDesktopSize(DesktopSizeRequest(width: 1024, height: 480, screens: screens))
        var p = ClientMessageParser()
        var whole = ByteBuffer(bytes: bytes)
        #expect(try p.next(&whole) == want)
        #expect(try p.next(&whole) == .key(down: true, keysym: 0x61))
        var trickle = ByteBuffer()
        var got: [ClientMessage] = []
        for b in bytes {
            trickle.writeInteger(b)
            while let m = try p.next(&trickle) { got.append(m) }
        }
        #expect(got == [want, .key(down: true, keysym: 0x61)])
    }

    @Test("layouts: a screen outside the framebuffer, an empty one, a repeated id, none at all, or a 0x0 framebuffer are invalid")
    func layouts() {
        func r(_ w: Int, _ h: Int, _ s: [RFBScreen]) -> DesktopSizeRequest { DesktopSizeRequest(width: w, height: h, screens: s) }
        let full = RFBScreen(id: 1, x: 0, y: 0, width: 800, height: 600)
        #expect(r(800, 600, [full]).invalidity == nil)
        #expect(r(800, 600, [full, RFBScreen(id: 2, x: 0, y: 0, width: 100, height: 100)]).invalidity == nil, "screens may overlap")
        #expect(r(800, 600, []).invalidity == "no screen in the layout")
        #expect(r(0, 600, [full]).invalidity != nil)
        #expect(r(799, 600, [full]).invalidity?.contains("outside") == true)
        #expect(r(800, 600, [RFBScreen(id: 1, x: 10, y: 0, width: 0, height: 5)]).invalidity?.contains("0x5") == true)
        #expect(r(800, 600, [full, full]).invalidity == "screen id 1 appears twice")
    }

    @Test("an ExtendedDesktopSize update: reason in x, status in y, the size, then the screens, and nothing else")
    func wire() {
        let rect = ExtendedDesktopSize(reason: .thisClient, status: .invalidLayout, width: 1280, height: 720,
                                       screens: [RFBScreen(id: 0x01020304, x: 1, y: 2, width: 3, height: 4, flags: 5)])
        let b = ExtendedDesktopSize.update([rect], allocator: ByteBufferAllocator())
        let bytes = b.getBytes(at: b.readerIndex, length: b.readableBytes)!
        let header: [UInt8] = [0, 0, 0, 1] + Self.be16(1) + Self.be16(3) + Self.be16(1280) + Self.be16(720) + Self.be32(UInt32(bitPattern: -308))
        #expect(bytes == header + [1, 0, 0, 0] + [1, 2, 3, 4, 0, 1, 0, 2, 0, 3, 0, 4, 0, 0, 0, 5])
        #expect(EncodingChoice(clientList: [0, -308]).extendedDesktopSize)
        #expect(!EncodingChoice(clientList: [0, -223]).extendedDesktopSize)
    }

    @Test("fuzz: a million SetDesktopSize messages (mutated, truncated, random) parse or wait, never trap; whole equals chunked")
    func fuzz() throws {
        var rng = SplitMix(state: 0x5EED_0251)
        var parsed = 0, invalid = 0, waiting = 0
        for i in 0..<1_000_000 {
            let input = Self.fuzzInput(&rng)
            var p = ClientMessageParser()
            var whole = ByteBuffer(bytes: input)
            let m: ClientMessage?
            do { m = try p.next(&whole) } catch {
                Issue.record("input \(i) \(input): \(error) (a SetDesktopSize never throws)")
                continue
            }
            guard case .setDesktopSize(let r)? = m else {
                #expect(m == nil && whole.readableBytes == input.count, "input \(i): a partial message consumes nothing")
                waiting += 1
                continue
            }
            parsed += 1
            #expect(input.count - whole.readableBytes == 8 + 16 * r.screens.count, "input \(i): exactly its bytes")
            if r.invalidity != nil { invalid += 1 } else {
                // A valid layout is echoed back whole: the answer's bytes are well formed.
                let echo = ExtendedDesktopSize(reason: .thisClient, status: .success, width: r.width, height: r.height, screens: r.screens)
                #expect(ExtendedDesktopSize.update([echo], allocator: ByteBufferAllocator()).readableBytes == 4 + 12 + 4 + 16 * r.screens.count)
            }
            if i % 64 == 0 { try Self.checkChunked(input, want: m, rng: &rng) }
        }
        print("SetDesktopSize fuzz: 1000000 inputs, \(parsed) parsed (\(invalid) invalid layouts), \(waiting) incomplete")
        #expect(parsed > 100_000 && invalid > 10_000 && parsed - invalid > 10_000 && waiting > 10_000)
    }

    /// The same input in random chunks gives the same message.
    static func checkChunked(_ input: [UInt8], want: ClientMessage?, rng: inout SplitMix) throws {
        var p = ClientMessageParser()
        var b = ByteBuffer()
        var off = 0, got: ClientMessage?
        while off < input.count && got == nil {
            let n = min(input.count - off, 1 + Int(rng.next() % 24))
            b.writeBytes(input[off..<off + n])
            off += n
            got = try p.next(&b)
        }
        #expect(got == want, "chunked \(input)")
    }

    /// A valid message mutated (bit flips, inserted or removed bytes, a random screen count),
    /// truncated, or random bytes after the type.
    static func fuzzInput(_ rng: inout SplitMix) -> [UInt8] {
        let screens = (0..<Int(rng.next() % 4)).map { _ in
            RFBScreen(id: UInt32(rng.next() % 4), x: Int(rng.next() % 2000), y: Int(rng.next() % 2000),
                      width: Int(rng.next() % 2000), height: Int(rng.next() % 2000), flags: UInt32(truncatingIfNeeded: rng.next()))
        }
        var m = message(width: Int(rng.next() % 4000), height: Int(rng.next() % 4000), screens: screens)
        switch rng.next() % 5 {
        case 0: return [251] + (0..<Int(rng.next() % 96)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        case 1: return Array(m.prefix(Int(rng.next() % UInt64(m.count + 1))))
        case 2:
            m[6] = UInt8(truncatingIfNeeded: rng.next())
            return m + (0..<Int(rng.next() % 64)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        default:
            for _ in 0..<(1 + rng.next() % 3) {
                let at = 1 + Int(rng.next() % UInt64(m.count - 1))
                switch rng.next() % 3 {
                case 0: m[at] ^= UInt8(1 << (rng.next() % 8))
                case 1: m.insert(UInt8(truncatingIfNeeded: rng.next()), at: at)
                default: if m.count > 2 { m.remove(at: at) }
                }
            }
            return m
        }
    }
}
