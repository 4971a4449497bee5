import Foundation
import NIOCore
@testable import RFB
import Synchronization
import Testing

@Suite("Failed authentications block an address")
struct AuthThrottleTests {
    @Test("5 failures block for 10 s; a failure after the block doubles it; a success forgets; other addresses go on")
    func doubling() {
        var t = AuthThrottle(blockAfter: 5, blockSeconds: 10)
        for i in 0..<4 { t.failed("a", now: Double(i)) }
        #expect(t.blocked("a", now: 4) == nil, "four failures do not block")
        t.failed("a", now: 4)
        #expect(t.blocked("a", now: 4) == 10)
        #expect(t.blocked("a", now: 13.5) == 0.5)
        #expect(t.blocked("b", now: 5) == nil)
        #expect(t.blocked("a", now: 14) == nil, "the block ends")
        t.failed("a", now: 14)
        #expect(t.blocked("a", now: 14) == 20, "the next block is twice as long")
        t.failed("a", now: 34)
        #expect(t.blocked("a", now: 34) == 40)
        t.succeeded("a")
        #expect(t.blocked("a", now: 34) == nil)
        for i in 0..<4 { t.failed("a", now: 40 + Double(i)) }
        #expect(t.blocked("a", now: 44) == nil, "a success starts the count again")
        var never = AuthThrottle(blockAfter: 0, blockSeconds: 10)
        for i in 0..<100 { never.failed("a", now: Double(i)) }
        #expect(never.blocked("a", now: 100) == nil, "0 never blocks")
    }

    @Test("over sockets with a hand-moved clock: blocked before the challenge, another address still gets in, the block ends and doubles")
    func server() throws {
        let clock = ManualClock()
        var o = RFBServerOptions()
        o.port = 0
        o.password = Array("sekrit".utf8)
        o.authBlockAfter = 2
        o.authBlockSeconds = 10
        o.clock = { clock.read() }
        let lines = Mutex<[String]>([])
        let server = try RFBServer(source: MemorySource(width: 64, height: 16), options: o, input: nil, log: { l in lines.withLock { $0.append(l) } })
        defer { server.stop() }
        for _ in 0..<2 {
            let s = AddressedSocket(port: server.port, source: "127.0.0.1")
            #expect(s.offer()?.types == [2])
            #expect(s.authenticate("wrong") == 1)
        }
        let blocked = AddressedSocket(port: server.port, source: "127.0.0.1")
        let refusal = blocked.offer()
        #expect(refusal?.types == [])
        #expect(refusal?.reason == "too many failed authentications from 127.0.0.1: try again in 10 s")
        #expect(blocked.closedByServer())
        let other = AddressedSocket(port: server.port, source: "127.0.0.2")
        #expect(other.offer()?.types == [2])
        #expect(other.authenticate("sekrit") == 0, "the right password from another address")

        clock.advance(10)
        let again = AddressedSocket(port: server.port, source: "127.0.0.1")
        #expect(again.offer()?.types == [2], "the block has ended")
        #expect(again.authenticate("wrong") == 1)
        let longer = AddressedSocket(port: server.port, source: "127.0.0.1")
        #expect(longer.offer()?.reason == "too many failed authentications from 127.0.0.1: try again in 20 s")
        #expect(eventually { lines.withLock { $0.filter { $0.contains("refused: too many failed authentications") }.count } == 2 })
    }

    @Test("a response that arrives once the address is blocked is refused unchecked, with the reason")
    func blockedMidHandshake() throws {
        let clock = ManualClock()
        var o = RFBServerOptions()
        o.port = 0
        o.password = Array("sekrit".utf8)
        o.authBlockAfter = 1
        o.clock = { clock.read() }
        let server = try RFBServer(source: MemorySource(width: 64, height: 16), options: o, input: nil, log: { _ in })
        defer { server.stop() }
        let waiting = AddressedSocket(port: server.port, source: "127.0.0.1")
        #expect(waiting.offer()?.types == [2])
        waiting.send([2])
        let challenge = waiting.read(16)
        let wrong = AddressedSocket(port: server.port, source: "127.0.0.1")
        #expect(wrong.offer()?.types == [2])
        #expect(wrong.authenticate("wrong") == 1)
        waiting.send(VNCAuthentication.response(challenge: challenge ?? [], password: Array("sekrit".utf8))!)
        let result = waiting.read(4)
        #expect(result == [0, 0, 0, 1], "blocked: failed even with the right password")
        let reason = waiting.read(4).flatMap { waiting.read(Int($0[3])) }.map { String(decoding: $0, as: UTF8.self) }
        #expect(reason?.hasPrefix("too many failed authentications") == true)
    }
}

@Suite("Connection limits and exclusive clients", .serialized)
struct ConnectionLimitTests {
    func server(maxClients: Int = 32, input: RecordingInput? = nil) throws -> RFBServer {
        var o = RFBServerOptions()
        o.port = 0
        o.maxClients = maxClients
        return try RFBServer(source: MemorySource(width: 64, height: 16), options: o, input: input, log: { _ in })
    }

    @Test("past the limit a connection is told why in the handshake; when one leaves, the next gets in")
    func cap() throws {
        let server = try server(maxClients: 2)
        defer { server.stop() }
        var clients = [AddressedSocket(port: server.port, source: "127.0.0.1"), AddressedSocket(port: server.port, source: "127.0.0.1")]
        for c in clients { #expect(c.joinWithoutPassword(shared: true)) }
        let third = AddressedSocket(port: server.port, source: "127.0.0.1")
        #expect(third.offer()?.reason == "too many clients: the server's limit of 2 connections is reached")
        clients.removeFirst()
        #expect(eventually { AddressedSocket(port: server.port, source: "127.0.0.1").offer()?.types == [1] })
    }

    @Test("a ClientInit with shared = 0 closes every other client; it stays")
    func exclusive() throws {
        let server = try server()
        defer { server.stop() }
        let a = AddressedSocket(port: server.port, source: "127.0.0.1"), b = AddressedSocket(port: server.port, source: "127.0.0.1")
        #expect(a.joinWithoutPassword(shared: true))
        #expect(b.joinWithoutPassword(shared: true))
        let alone = AddressedSocket(port: server.port, source: "127.0.0.1")
        #expect(alone.joinWithoutPassword(shared: false))
        #expect(a.closedByServer())
        #expect(b.closedByServer())
        alone.send([3, 0, 0, 0, 0, 0, 0, 64, 0, 16])
        #expect(alone.read(4) != nil, "the exclusive client still gets updates")
    }
}

@Suite("Refusals in the handshake")
struct RefusalTests {
    @Test("a refusal is sent once the version is known: 3.8 and 3.7 get no types and the reason, 3.3 type 0 and the reason")
    func refusal() {
        func refused(_ version: String) -> (output: [UInt8], error: RFBProtocolError?) {
            var p = RFBServerProtocol(password: nil, challenge: Array(0..<16))
            p.refusal = "full"
            var buffer = ByteBuffer(bytes: Array(version.utf8))
            var out: [UInt8] = []
            do { _ = try p.next(&buffer, output: &out) } catch { return (out, error) }
            return (out, nil)
        }
        let r8 = refused("RFB 003.008\n")
        #expect(r8.output == [0, 0, 0, 0, 4] + Array("full".utf8))
        #expect(r8.error == .refused("full"))
        #expect(refused("RFB 003.007\n").output == [0, 0, 0, 0, 4] + Array("full".utf8))
        #expect(refused("RFB 003.003\n").output == [0, 0, 0, 0, 0, 0, 0, 4] + Array("full".utf8))
    }
}
