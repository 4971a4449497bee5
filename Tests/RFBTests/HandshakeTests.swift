import Display
import Foundation
import Input
import NIOCore
@testable import RFB
import Testing
import TestSupport

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
