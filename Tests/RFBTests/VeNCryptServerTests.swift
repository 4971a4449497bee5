import Foundation
@testable import RFB
import Synchronization
import Testing
import TestSupport

/// The server with TLS over real sockets, before TLS starts: what the RFB port offers, the
/// VeNCrypt version and subtype negotiation, and the refusals a client is told.
@Suite("VeNCrypt server")
struct VeNCryptServerTests {
    func server(password: [UInt8]?, certs: TestCertificates, log: @escaping @Sendable (String) -> Void = { _ in }) throws -> RFBServer {
        var o = RFBServerOptions()
        o.port = 0
        o.password = password
        o.tls = try RFBTLSIdentity(certificateFile: certs.serverCertificate.path, keyFile: certs.serverKey.path)
        return try RFBServer(source: MemorySource(width: 64, height: 16), options: o, input: nil, log: log)
    }

    static func u32(_ b: [UInt8]?) -> UInt32? {
        b.map { UInt32($0[0]) << 24 | UInt32($0[1]) << 16 | UInt32($0[2]) << 8 | UInt32($0[3]) }
    }

    /// A failed SecurityResult's reason, read from `s`.
    static func failureReason(_ s: AddressedSocket) -> String? {
        guard u32(s.read(4)) == 1, let n = u32(s.read(4)), let r = s.read(Int(n)) else { return nil }
        return String(decoding: r, as: UTF8.self)
    }

    @Test("negotiation: only type 19, version 0.2, the subtypes for a password; a bad subtype is refused with the reason; the server goes on")
    func negotiation() throws {
        let certs = try TestCertificates.make("vencrypt-server")
        defer { certs.remove() }
        let lines = Mutex<[String]>([])
        let server = try server(password: Array("sekrit".utf8), certs: certs, log: { l in lines.withLock { $0.append(l) } })
        defer { server.stop() }
        for _ in 0..<2 {
            let s = AddressedSocket(port: server.port, source: "127.0.0.1")
            #expect(s.offer()?.types == [19])
            s.send([19])
            #expect(s.read(2) == [0, 2])
            s.send([0, 2])
            #expect(s.read(10) == [0, 2, 0, 0, 1, 5, 0, 0, 1, 6])
            s.send([0, 0, 1, 4])
            #expect(Self.failureReason(s) == "VeNCrypt: subtype 260 was not offered (offered: 261 X509Vnc, 262 X509Plain)")
            #expect(s.closedByServer())
        }
        #expect(eventually { lines.withLock { $0.filter { $0.contains("dropped: VeNCrypt: subtype 260 was not offered") }.count } == 2 })
    }

    @Test("a client offering VeNCrypt 0.1 gets 0xFF and the reason; without a password only X509None is offered")
    func wrongVersionAndNone() throws {
        let certs = try TestCertificates.make("vencrypt-version")
        defer { certs.remove() }
        let server = try server(password: nil, certs: certs)
        defer { server.stop() }
        let s = AddressedSocket(port: server.port, source: "127.0.0.1")
        #expect(s.offer()?.types == [19])
        s.send([19])
        #expect(s.read(2) == [0, 2])
        s.send([0, 1])
        #expect(s.read(1) == [0xFF])
        #expect(Self.failureReason(s) == "the client speaks VeNCrypt 0.1; this server speaks only 0.2")
        #expect(s.closedByServer())
        let n = AddressedSocket(port: server.port, source: "127.0.0.1")
        #expect(n.offer()?.types == [19])
        n.send([19, 0, 2])
        #expect(n.read(2) == [0, 2])
        #expect(n.read(6) == [0, 1, 0, 0, 1, 4])
        n.send([0, 0, 1, 4])
        #expect(n.read(1) == [1], "start TLS")
    }
}
