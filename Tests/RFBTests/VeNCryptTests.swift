import Foundation
import NIOCore
@testable import RFB
import Testing

/// Feeds `input` to a fresh VeNCrypt-offering protocol, whole or in `chunks`, doing what the
/// connection does at `startTLS` (calls `tlsStarted` with what is left in the buffer: the
/// bytes after the choice stand for what TLS would carry).
func driveVeNCrypt(_ input: [UInt8], password: [UInt8]? = nil, chunks: [Int]? = nil)
    -> (events: [RFBServerProtocol.Event], output: [UInt8], error: RFBProtocolError?) {
    var p = RFBServerProtocol(password: password, challenge: Array(0..<16), vencrypt: true)
    var buffer = ByteBuffer()
    var events: [RFBServerProtocol.Event] = [], output: [UInt8] = []
    var offset = 0, i = 0
    let sizes = chunks ?? [max(1, input.count)]
    repeat {
        let n = min(max(1, sizes[i % sizes.count]), input.count - offset)
        buffer.writeBytes(input[offset..<offset + n])
        offset += n
        i += 1
        do {
            while let e = try p.next(&buffer, output: &output) {
                events.append(e)
                // The test's "TLS" is the same buffer: whatever follows the choice is taken as arriving through it.
                if case .startTLS = e { try p.tlsStarted(leftover: 0, output: &output) }
            }
        } catch {
            return (events, output, error)
        }
    } while offset < input.count
    return (events, output, nil)
}

/// A failed SecurityResult with its reason, as the client reads it.
func failure(_ reason: String) -> [UInt8] {
    let r = Array(reason.utf8)
    return [0, 0, 0, 1, 0, 0, UInt8(r.count >> 8), UInt8(r.count & 0xFF)] + r
}

@Suite("VeNCrypt handshake")
struct VeNCryptTests {
    static let hello = Array("RFB 003.008\n".utf8) + [19, 0, 2]
    static let pw = Array("sekrit-longer-than-8".utf8)

    static func plain(_ user: String, _ password: [UInt8]) -> [UInt8] {
        let u = Array(user.utf8)
        return [0, 0, 0, UInt8(u.count), 0, 0, 0, UInt8(password.count)] + u + password
    }

    @Test("with a password: only type 19; version 0.2; X509Vnc and X509Plain offered; X509Vnc is TLS then the VNC challenge")
    func x509Vnc() {
        let good = VNCAuthentication.response(challenge: Array(0..<16), password: Self.pw)!
        let r = driveVeNCrypt(Self.hello + [0, 0, 1, 5] + good + [1], password: Self.pw)
        #expect(r.error == nil)
        #expect(r.events == [.startTLS(.x509Vnc), .initialized(version: .v3_8, shared: true)])
        #expect(r.output == [1, 19] + [0, 2] + [0, 2, 0, 0, 1, 5, 0, 0, 1, 6] + [1] + Array(0..<16) + [0, 0, 0, 0])
    }

    @Test("without a password: X509None alone, a SecurityResult OK after TLS")
    func x509None() {
        let r = driveVeNCrypt(Self.hello + [0, 0, 1, 4] + [0])
        #expect(r.error == nil)
        #expect(r.output == [1, 19, 0, 2, 0, 1, 0, 0, 1, 4, 1, 0, 0, 0, 0])
        #expect(r.events == [.startTLS(.x509None), .initialized(version: .v3_8, shared: false)])
    }

    @Test("X509Plain: the whole password passes (any username); a wrong one fails with the reason")
    func x509Plain() {
        let ok = driveVeNCrypt(Self.hello + [0, 0, 1, 6] + Self.plain("anyone", Self.pw) + [1], password: Self.pw)
        #expect(ok.error == nil)
        #expect(ok.events.last == .initialized(version: .v3_8, shared: true))
        #expect(Array(ok.output.suffix(5)) == [1, 0, 0, 0, 0])
        // Only the first 8 bytes would pass VNC Authentication; Plain takes the whole line.
        let short = driveVeNCrypt(Self.hello + [0, 0, 1, 6] + Self.plain("anyone", Array(Self.pw.prefix(8))) + [1], password: Self.pw)
        #expect(short.error == .authenticationFailed)
        #expect(short.output.hasSuffix(failure("wrong password")))
    }

    @Test("a subtype not offered is refused with the RFB failure reason naming what was offered")
    func badSubtype() {
        for (password, subtype, offered) in [(Self.pw, 260, "261 X509Vnc, 262 X509Plain"), (nil, 261, "260 X509None"), (Self.pw, 256, "261 X509Vnc, 262 X509Plain")] {
            let r = driveVeNCrypt(Self.hello + [0, 0, UInt8(subtype >> 8), UInt8(subtype & 0xFF)], password: password)
            let why = "VeNCrypt: subtype \(subtype) was not offered (offered: \(offered))"
            #expect(r.error == .vencrypt("subtype \(subtype) was not offered (offered: \(offered))"))
            #expect(r.output.hasSuffix(failure(why)), "\(r.output)")
            #expect(r.events.isEmpty)
        }
    }

    @Test("a client of another VeNCrypt version gets 0xFF, then the failure with its reason")
    func wrongVersion() {
        let r = driveVeNCrypt(Array("RFB 003.008\n".utf8) + [19, 0, 1], password: Self.pw)
        let why = "the client speaks VeNCrypt 0.1; this server speaks only 0.2"
        #expect(r.error == .vencrypt(why))
        #expect(r.output == [1, 19, 0, 2, 0xFF] + failure(why))
    }

    @Test("type 2 (plain VNC Authentication) is not offered with TLS; an RFB 3.3 client is told why")
    func noPlainTypes() {
        #expect(driveVeNCrypt(Array("RFB 003.008\n".utf8) + [2], password: Self.pw).error == .badSecurityType(2))
        let r = driveVeNCrypt(Array("RFB 003.003\n".utf8), password: Self.pw)
        guard case .refused(let why) = r.error else { Issue.record("3.3 not refused: \(String(describing: r.error))"); return }
        #expect(why.contains("only VeNCrypt"))
        #expect(Array(r.output.prefix(4)) == [0, 0, 0, 0])
    }

    @Test("X509Plain lengths past 255 are refused as soon as they arrive, without waiting for the bytes")
    func plainLengths() {
        let r = driveVeNCrypt(Self.hello + [0, 0, 1, 6] + [0, 0, 1, 0, 0xFF, 0xFF, 0xFF, 0xFF], password: Self.pw)
        #expect(r.error == .vencrypt("X509Plain username of 256 and password of 4294967295 bytes (at most 255 each)"))
        #expect(r.output.hasSuffix(failure("VeNCrypt: X509Plain username of 256 and password of 4294967295 bytes (at most 255 each)")))
    }

    @Test("bytes sent in the clear between the choice and TLS drop the client")
    func clearAfterChoice() throws {
        var p = RFBServerProtocol(password: Self.pw, challenge: Array(0..<16), vencrypt: true)
        var b = ByteBuffer(bytes: Self.hello + [0, 0, 1, 5])
        var out: [UInt8] = []
        #expect(try p.next(&b, output: &out) == .startTLS(.x509Vnc))
        #expect(throws: RFBProtocolError.self) { try p.tlsStarted(leftover: 3, output: &out) }
        var q = RFBServerProtocol(password: Self.pw, challenge: Array(0..<16), vencrypt: true)
        var c = ByteBuffer(bytes: Self.hello + [0, 0, 1, 5, 0x16])
        #expect(try q.next(&c, output: &out) == .startTLS(.x509Vnc))
        #expect(throws: RFBProtocolError.self) { try q.next(&c, output: &out) }
    }
}

extension Array where Element == UInt8 {
    func hasSuffix(_ s: [UInt8]) -> Bool { count >= s.count && Array(suffix(s.count)) == s }
}
