#if canImport(Glibc)
import Glibc
#endif
import Display
import Foundation
import Input
@testable import RFB
import Synchronization
import Testing

extension Socket {
    func enableContinuousUpdates(_ enable: Bool, _ r: RFBRect) {
        send([150, enable ? 1 : 0, UInt8(r.x >> 8), UInt8(r.x & 0xFF), UInt8(r.y >> 8), UInt8(r.y & 0xFF),
              UInt8(r.width >> 8), UInt8(r.width & 0xFF), UInt8(r.height >> 8), UInt8(r.height & 0xFF)])
    }

    func fence(_ flags: UInt32, _ payload: [UInt8]) {
        send([248, 0, 0, 0, UInt8(flags >> 24), UInt8(flags >> 16 & 0xFF), UInt8(flags >> 8 & 0xFF), UInt8(flags & 0xFF), UInt8(payload.count)] + payload)
    }

    /// The next ServerFence: its flags and payload, or nil if another message came first.
    func serverFence(timeout: Double = 10) -> (flags: UInt32, payload: [UInt8])? {
        guard let h = read(9, timeout: timeout), h[0] == 248 else { return nil }
        let flags = UInt32(h[4]) << 24 | UInt32(h[5]) << 16 | UInt32(h[6]) << 8 | UInt32(h[7])
        guard let p = read(Int(h[8]), timeout: timeout) else { return nil }
        return (flags, p)
    }

    /// A Raw update's rectangles and the colour of each one's first pixel (32 bpp, the
    /// server's native format).
    func colouredUpdate(timeout: Double = 10) -> [(RFBRect, UInt32)]? {
        guard let h = read(4, timeout: timeout), h[0] == 0 else { return nil }
        var out: [(RFBRect, UInt32)] = []
        for _ in 0..<(Int(h[2]) << 8 | Int(h[3])) {
            guard let r = read(12, timeout: timeout) else { return nil }
            let rect = RFBRect(x: Int(r[0]) << 8 | Int(r[1]), y: Int(r[2]) << 8 | Int(r[3]), width: Int(r[4]) << 8 | Int(r[5]), height: Int(r[6]) << 8 | Int(r[7]))
            guard let px = read(rect.width * rect.height * 4, timeout: timeout) else { return nil }
            out.append((rect, px.isEmpty ? 0 : UInt32(px[0]) | UInt32(px[1]) << 8 | UInt32(px[2]) << 16))
        }
        return out
    }
}

@Suite("RFB fence and continuous-update messages")
struct FenceMessageTests {
    @Test("a fence reply keeps BlockBefore, BlockAfter and SyncNext, clears Request and unknown bits, and echoes the payload")
    func fenceReply() {
        #expect(FenceFlags.reply(to: 0x8000_0007) == 7)
        #expect(FenceFlags.reply(to: 0xFFFF_FFFF) == 7)
        #expect(FenceFlags.reply(to: FenceFlags.request | FenceFlags.blockAfter) == FenceFlags.blockAfter)
        #expect(ContinuousServerMessage.fence(flags: 3, payload: [9, 8]) == [248, 0, 0, 0, 0, 0, 0, 3, 2, 9, 8])
        #expect(ContinuousServerMessage.probe == [248, 0, 0, 0, 0x80, 0, 0, 0, 1, 0])
        #expect(ContinuousServerMessage.endOfContinuousUpdates == [150])
        let c = EncodingChoice(clientList: [16, -312, -313])
        #expect(c.fence && c.continuousUpdates && c.encoding == EncodingType.zrle)
        #expect(!EncodingChoice(clientList: [16]).continuousUpdates)
    }
}

@Suite("RFB server: continuous updates and fences", .serialized)
struct ContinuousUpdatesTests {
    func serve(_ source: MemorySource, input: RecordingInput? = nil, stallTimeout: Double = 300,
               log: @escaping @Sendable (String) -> Void = { _ in }) throws -> RFBServer {
        var o = RFBServerOptions()
        o.port = 0
        o.stallTimeout = stallTimeout
        return try RFBServer(source: source, options: o, input: input, log: log)
    }

    func connect(_ server: RFBServer, receiveBuffer: Int32? = nil) throws -> Socket {
        try Socket.pastServerInit(server, receiveBuffer: receiveBuffer)
    }

    /// A fence round trip: once its reply is read, the server has handled everything sent before.
    func settle(_ s: Socket, _ tag: UInt8) {
        s.fence(FenceFlags.request, [tag])
        let r = s.serverFence()
        #expect(r?.flags == 0 && r?.payload == [tag], "the fence \(tag) came back")
    }

    @Test("listing -312 and -313 gets one ServerFence request and one EndOfContinuousUpdates; then each paint in the region arrives with no request, incremental requests are ignored, a full one is honoured, and disabling ends with EndOfContinuousUpdates")
    func followsThePaints() throws {
        let source = MemorySource(width: 300, height: 200)
        let server = try serve(source)
        defer { server.stop() }
        let s = try connect(server)
        s.send([2, 0, 0, 3, 0, 0, 0, 0, 0xFF, 0xFF, 0xFE, 0xC8, 0xFF, 0xFF, 0xFE, 0xC7]) // Raw, Fence, ContinuousUpdates
        let probe = s.serverFence()
        #expect(probe?.flags == FenceFlags.request && probe?.payload == [0], "the probe fence")
        s.fence(0, [0]) // the client's reply to it: nothing comes back
        #expect(s.read(1) == [150], "EndOfContinuousUpdates tells the client they are understood")
        s.send([2, 0, 0, 3, 0, 0, 0, 0, 0xFF, 0xFF, 0xFE, 0xC8, 0xFF, 0xFF, 0xFE, 0xC7]) // again: told only once
        s.send([3, 0, 0, 0, 0, 0, 1, 44, 0, 200])
        #expect(s.update() == [RFBRect(x: 0, y: 0, width: 300, height: 200)], "the full request's update, nothing before it")
        s.enableContinuousUpdates(true, RFBRect(x: 0, y: 0, width: 200, height: 100))
        settle(s, 1)
        for i in 0..<5 {
            let r = RFBRect(x: 10 + 20 * i, y: 5 + 10 * i, width: 7, height: 9)
            source.paint(r, 0x0010_2030 + UInt32(i))
            let u = s.colouredUpdate()
            #expect(u?.map(\.0) == [r] && u?.first?.1 == 0x0010_2030 + UInt32(i), "paint \(i) arrives as its own update, unrequested")
        }
        // Outside the region: owed, not sent; an incremental request changes nothing.
        source.paint(RFBRect(x: 250, y: 150, width: 5, height: 5), 0x00FF_0000)
        s.send([3, 1, 0, 0, 0, 0, 1, 44, 0, 200])
        settle(s, 2)
        // A non-incremental request is honoured, even outside the region.
        s.send([3, 0, 0, 250, 0, 150, 0, 5, 0, 5])
        #expect(s.colouredUpdate()?.first?.1 == 0x00FF_0000)
        s.enableContinuousUpdates(false, RFBRect(x: 0, y: 0, width: 0, height: 0))
        #expect(s.read(1) == [150], "disabling is answered with EndOfContinuousUpdates")
        source.paint(RFBRect(x: 1, y: 1, width: 3, height: 3), 0x0000_FF00)
        settle(s, 3)
        s.send([3, 1, 0, 0, 0, 0, 1, 44, 0, 200])
        #expect(s.update() == [RFBRect(x: 1, y: 1, width: 3, height: 3)], "requests again once they are off")
        s.enableContinuousUpdates(false, RFBRect(x: 0, y: 0, width: 0, height: 0))
        #expect(s.read(1) == [150], "even when they were off already")
    }

    @Test("a fence request is echoed with Request and unknown flags cleared; SyncNext's reply waits for the next message and precedes what it affects")
    func fences() throws {
        let source = MemorySource(width: 300, height: 200)
        let server = try serve(source)
        defer { server.stop() }
        let s = try connect(server)
        s.fence(FenceFlags.request | FenceFlags.blockBefore | FenceFlags.blockAfter | 0x100, Array("abc".utf8))
        let r = s.serverFence()
        let both: UInt32 = FenceFlags.blockBefore | FenceFlags.blockAfter
        #expect(r?.flags == both)
        #expect(r?.payload == Array("abc".utf8))
        s.fence(0, [1]) // a reply (no Request): nothing comes back
        s.fence(FenceFlags.request | FenceFlags.syncNext, [2])
        #expect(s.read(1, timeout: 0.3) == nil, "SyncNext: no reply before the next message")
        let f16 = PixelFormat(bitsPerPixel: 16, depth: 16, bigEndian: false, trueColour: true, redMax: 31, greenMax: 63, blueMax: 31,
                              redShift: 11, greenShift: 5, blueShift: 0)
        s.setPixelFormat(f16)
        s.send([3, 0, 0, 0, 0, 0, 1, 44, 0, 200])
        let sync = s.serverFence()
        #expect(sync?.flags == FenceFlags.syncNext && sync?.payload == [2], "the reply comes after the SetPixelFormat, before the update")
        let u = s.updateBytes(format: f16)
        let expected = 4 + 12 + 300 * 200 * 2
        #expect(u?.count == expected, "the update after the reply is in the new format")
    }

    @Test("a fence and EndOfContinuousUpdates that arrive while an update is half written come after it, and BlockAfter holds the next messages until its reply is out")
    func repliesWaitForTheUpdate() throws {
        // 2560x1600 Raw is 16 MB: more than the sockets and the server's high-water mark hold,
        // so the update cannot end until the client reads.
        let source = MemorySource(width: 2560, height: 1600)
        let input = RecordingInput()
        let server = try serve(source, input: input)
        defer { server.stop() }
        let s = try connect(server, receiveBuffer: 65536)
        s.send([3, 0, 0, 0, 0, 0, 10, 0, 6, 64])
        var p = pollfd(fd: s.fd, events: Int16(POLLIN), revents: 0)
        #expect(poll(&p, 1, 60_000) == 1, "the update began")
        s.fence(FenceFlags.request | FenceFlags.blockAfter, [5])
        s.enableContinuousUpdates(false, RFBRect(x: 0, y: 0, width: 0, height: 0))
        s.send([4, 1, 0, 0, 0, 0, 0, 0x71]) // q down: held by BlockAfter until the reply is sent
        // Not a speed: the update cannot finish while nothing is read, so nothing may pass.
        usleep(300_000)
        #expect(input.events.isEmpty, "a message after a BlockAfter fence waits for its reply")
        let bands = s.colouredUpdate(timeout: 60)?.map(\.0) ?? []
        #expect(bands.reduce(0) { $0 + $1.width * $1.height } == 2560 * 1600, "the update, whole, before the reply")
        let r = s.serverFence()
        #expect(r?.flags == FenceFlags.blockAfter && r?.payload == [5])
        #expect(s.read(1) == [150])
        let deadline = Date(timeIntervalSinceNow: 60) // a bound on the wait, not a speed
        while input.events.isEmpty && Date() < deadline { usleep(10_000) }
        #expect(input.events == [.key(code: 16, down: true)], "the held key is handled once the reply is out")
    }

    @Test("a continuous client that stops reading holds at most one update and gathers the rest as dirty bits, while a reading one gets every paint; once it reads it gets the latest picture")
    func slowClientCoalesces() throws {
        let source = MemorySource(width: 300, height: 200)
        let server = try serve(source)
        defer { server.stop() }
        let slow = try connect(server, receiveBuffer: 4096), fast = try connect(server)
        let screen = RFBRect(x: 0, y: 0, width: 300, height: 200)
        for s in [slow, fast] {
            s.send([2, 0, 0, 2, 0, 0, 0, 0, 0xFF, 0xFF, 0xFE, 0xC7]) // Raw, ContinuousUpdates
            #expect(s.read(1) == [150])
            s.send([3, 0, 0, 0, 0, 0, 1, 44, 0, 200])
            #expect(s.update() == [screen])
            s.enableContinuousUpdates(true, screen)
            settle(s, 9)
        }
        // Updates of 25.6 KB: more than the slow client's receive buffer (so its first one
        // stays partly in the server's socket), and ten of them fit under the server's 256 KiB
        // high-water mark (so without the flow control of continuous updates they would queue).
        let paints = 30, square = RFBRect(x: 0, y: 0, width: 80, height: 80)
        for i in 0..<paints {
            let colour = 0x0001_0101 * UInt32(i + 1)
            source.paint(square, colour)
            let u = fast.colouredUpdate()
            #expect(u?.map(\.0) == [square] && u?.first?.1 == colour, "the reading client gets paint \(i)")
        }
        // The slow client now reads: a few updates at most (what was in its socket and the
        // server's buffer), the last with the last paint.
        let last = 0x0001_0101 * UInt32(paints)
        var got = 0, colour: UInt32 = 0
        while colour != last, got <= paints, let u = slow.colouredUpdate(timeout: 60) {
            got += 1
            colour = u.last?.1 ?? 0
        }
        #expect(colour == last, "the slow client ends with the latest picture")
        #expect(got <= 3, "the slow client got \(got) updates for \(paints) paints: the rest coalesced")
    }

    @Test("a continuous client that reads nothing is dropped after the stall timeout with one line")
    func nonReaderDropped() throws {
        let source = MemorySource(width: 300, height: 200)
        let lines = Mutex<[String]>([])
        let server = try serve(source, stallTimeout: 1, log: { l in lines.withLock { $0.append(l) } })
        defer { server.stop() }
        let s = try connect(server, receiveBuffer: 4096)
        s.send([2, 0, 0, 2, 0, 0, 0, 0, 0xFF, 0xFF, 0xFE, 0xC7])
        #expect(s.read(1) == [150])
        s.enableContinuousUpdates(true, RFBRect(x: 0, y: 0, width: 300, height: 200))
        source.paint(RFBRect(x: 0, y: 0, width: 300, height: 200), 0x0012_3456)
        let deadline = Date(timeIntervalSinceNow: 60) // a bound on the wait, not a speed
        while !lines.withLock({ $0.contains { $0.contains("dropped") } }) && Date() < deadline { usleep(20_000) }
        let dropped = lines.withLock { $0.filter { $0.contains("dropped") } }
        #expect(dropped.count == 1 && dropped.first?.contains(" 1 s") == true, "\(lines.withLock { $0 })")
    }
}
