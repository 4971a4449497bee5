import Foundation
import NIOCore
@testable import RFB
import Testing
import TestSupport

/// VeNCrypt's parsers (the client's version, its subtype choice, X509Plain's lengths and
/// bytes) under a million inputs: random and mutated handshakes through the whole protocol,
/// whole and in random chunks, and the Plain parser alone on lengths near its limits. No
/// trap, no hang (every input ends in events, a wait for more bytes, or one error), and the
/// same answer however the bytes are split.
@Suite("VeNCrypt fuzz")
struct VeNCryptFuzzTests {
    static let pw = Array("sekrit".utf8)
    static let valid: [UInt8] = VeNCryptTests.hello + [0, 0, 1, 6] + VeNCryptTests.plain("user", pw) + [1]
        + [3, 1, 0, 0, 0, 0, 0, 64, 0, 16]

    /// One input: random bytes after the VeNCrypt greeting, a mutated valid handshake, or a prefix of it.
    static func input(_ rng: inout SplitMix) -> [UInt8] {
        switch rng.next() % 4 {
        case 0:
            return Array(VeNCryptTests.hello.prefix(13 + Int(rng.next() % 3))) + (0..<Int(rng.next() % 24)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        case 1:
            // A subtype near the offered ones, then Plain lengths around the 255 limit.
            let sub = UInt32(256 + rng.next() % 10)
            let len = [0, 1, 255, 256, 0xFFFF_FFFF, UInt32(truncatingIfNeeded: rng.next())]
            var b = VeNCryptTests.hello
            appendU32(sub, to: &b)
            appendU32(len[Int(rng.next() % 6)], to: &b)
            appendU32(len[Int(rng.next() % 6)], to: &b)
            return b + (0..<Int(rng.next() % 32)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        case 2:
            var b = valid
            for _ in 0..<(1 + rng.next() % 3) {
                let i = Int(rng.next() % UInt64(b.count))
                switch rng.next() % 3 {
                case 0: b[i] ^= UInt8(1 << (rng.next() % 8))
                case 1: b.insert(UInt8(truncatingIfNeeded: rng.next()), at: i)
                default: b.remove(at: i)
                }
            }
            return b
        default:
            return Array(valid.prefix(Int(rng.next() % UInt64(valid.count))))
        }
    }

    @Test("a million inputs through the handshake and the Plain parser: no trap, no hang, the same answer in any chunks")
    func fuzz() {
        var rng = SplitMix(state: 0x5EED_0019)
        var handshakes = 0, refused = 0, passed = 0
        for n in 0..<150_000 {
            let bytes = Self.input(&rng)
            let whole = driveVeNCrypt(bytes, password: Self.pw)
            if n % 10 == 0 {
                let chunks = (0..<3).map { _ in 1 + Int(rng.next() % 7) }
                let pieces = driveVeNCrypt(bytes, password: Self.pw, chunks: chunks)
                // Another protocol's greeting is refused as soon as it differs, quoting what had arrived.
                func kind(_ e: RFBProtocolError?) -> String { if case .notRFB = e { return "not RFB" }; return "\(String(describing: e))" }
                #expect(whole.events == pieces.events && kind(whole.error) == kind(pieces.error) && whole.output == pieces.output,
                        "input \(bytes) chunks \(chunks)")
            }
            if whole.error != nil { refused += 1 }
            if whole.events.contains(.initialized(version: .v3_8, shared: true)) { passed += 1 }
            for e in whole.events { if case .startTLS(let s) = e { #expect(s == .x509Vnc || s == .x509Plain) } }
            handshakes += 1
        }
        var plains = 0, tooLong = 0
        for _ in 0..<850_000 {
            var b = ByteBuffer()
            let len = [0, 1, 254, 255, 256, 0x8000_0000, 0xFFFF_FFFF, UInt32(truncatingIfNeeded: rng.next())]
            b.writeInteger(len[Int(rng.next() % 8)])
            if rng.next() % 8 != 0 { b.writeInteger(len[Int(rng.next() % 8)]) }
            // The bytes' values mean nothing to the parser, only how many there are.
            b.writeRepeatingByte(UInt8(truncatingIfNeeded: rng.next()), count: Int(rng.next() % 600))
            do {
                if let c = try VeNCrypt.parsePlain(&b) {
                    #expect(c.user.count <= VeNCrypt.maxCredentialLength && c.password.count <= VeNCrypt.maxCredentialLength)
                }
            } catch { tooLong += 1 }
            plains += 1
        }
        print("VeNCrypt fuzz: \(handshakes) handshakes (\(refused) refused with a line, \(passed) through X509Plain), \(plains) Plain messages (\(tooLong) too long)")
        #expect(handshakes + plains == 1_000_000)
        #expect(refused > 0 && passed > 0 && tooLong > 0, "the inputs reach every outcome")
    }
}
