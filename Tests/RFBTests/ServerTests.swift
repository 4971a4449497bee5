#if canImport(Glibc)
import Glibc
#endif
import Display
import Foundation
import Input
@testable import RFB
import Synchronization
import Testing

/// An in-memory framebuffer with a damage log, standing in for the tracking session (the
/// server's own tests need no KVM; the CLI tests run it against a real guest).
// @unchecked Sendable: pixels, damage and observers are guarded by `lock`, which its readers also take.
final class MemorySource: FramebufferSource, @unchecked Sendable {
    let desktopName = "test"
    let geometry: FramebufferGeometry
    let grid: TileGrid
    private let lock = NSLock()
    private var pixels: [UInt8]
    private var damage: TileDamageLog
    private var observers: [@Sendable () -> Void] = []
    let reads = Atomic<Int>(0)
    let readersMade = Atomic<Int>(0)

    init(width: Int, height: Int) {
        geometry = FramebufferGeometry(width: width, height: height)
        grid = TileGrid(geometry: geometry, tile: TileSize(width: 64, height: 16))
        pixels = [UInt8](repeating: 0, count: geometry.byteCount)
        damage = TileDamageLog(count: grid.count)
    }

    /// Paints `r` with `colour` (0x00RRGGBB), records its tiles and wakes the readers.
    func paint(_ r: RFBRect, _ colour: UInt32) {
        lock.lock()
        var dirty = DirtyTileBitmap(count: grid.count)
        for y in r.y..<r.maxY {
            for x in r.x..<r.maxX {
                let o = (y * geometry.width + x) * 4
                pixels[o] = UInt8(colour & 0xFF); pixels[o + 1] = UInt8((colour >> 8) & 0xFF); pixels[o + 2] = UInt8(colour >> 16)
                dirty.set(grid.tile(atX: x, y: y))
            }
        }
        damage.record(dirty)
        let o = observers
        lock.unlock()
        for f in o { f() }
    }

    /// Paints `r` pixel by pixel with `colour(x, y)`, records its tiles and wakes the readers.
    func paint(_ r: RFBRect, _ colour: (Int, Int) -> UInt32) {
        lock.lock()
        var dirty = DirtyTileBitmap(count: grid.count)
        for y in r.y..<r.maxY {
            for x in r.x..<r.maxX {
                let c = colour(x, y), o = (y * geometry.width + x) * 4
                pixels[o] = UInt8(c & 0xFF); pixels[o + 1] = UInt8((c >> 8) & 0xFF); pixels[o + 2] = UInt8((c >> 16) & 0xFF)
                dirty.set(grid.tile(atX: x, y: y))
            }
        }
        damage.record(dirty)
        let o = observers
        lock.unlock()
        for f in o { f() }
    }

    /// Records `tiles` as repainted without changing a pixel (as a page-granular log marks
    /// whole bands) and wakes the readers.
    func markRepainted(_ tiles: DirtyTileBitmap) {
        lock.lock()
        damage.record(tiles)
        let o = observers
        lock.unlock()
        for f in o { f() }
    }

    /// The current pixel at (x, y) (0x00RRGGBB).
    func pixel(x: Int, y: Int) -> UInt32 {
        lock.withLock {
            let o = (y * geometry.width + x) * 4
            return UInt32(pixels[o + 2]) << 16 | UInt32(pixels[o + 1]) << 8 | UInt32(pixels[o])
        }
    }

    func makeReader(name: String) -> any FramebufferReader {
        readersMade.add(1, ordering: .relaxed)
        return Reader(source: self)
    }
    func onChange(_ body: @escaping @Sendable () -> Void) { lock.withLock { observers.append(body) } }

    // @unchecked Sendable: its cursor and bitmap change only in `read`, under the source's lock.
    final class Reader: FramebufferReader, @unchecked Sendable {
        let source: MemorySource
        var cursor: DamageCursor
        var changed: DirtyTileBitmap
        init(source: MemorySource) {
            self.source = source
            cursor = source.damage.newCursor()
            changed = DirtyTileBitmap(count: source.grid.count)
        }
        func read(_ body: (FrameView, DirtyTileBitmap) -> Void) {
            source.lock.lock(); defer { source.lock.unlock() }
            source.reads.add(1, ordering: .relaxed)
            source.damage.changes(since: &cursor, into: &changed)
            source.pixels.withUnsafeBytes { body(FrameView(geometry: source.geometry, grid: source.grid, bytes: $0), changed) }
        }
    }
}

final class RecordingInput: InputSink, Sendable {
    private let list = Mutex<[InputEvent]>([])
    func push(_ event: InputEvent) { list.withLock { $0.append(event) } }
    var events: [InputEvent] { list.withLock { $0 } }
}

/// A blocking test client socket.
final class Socket {
    let fd: Int32
    /// Connects to the server on `port`; `receiveBuffer` sets SO_RCVBUF first (a client that
    /// should stall soon when it reads nothing).
    init(port: Int, receiveBuffer: Int32? = nil) throws {
        fd = Self.connected(port: port, receiveBuffer: receiveBuffer)
    }
    deinit { close(fd) }

    /// A socket connected to the server on `port` of 127.0.0.1, bound first to `source` when
    /// given (another loopback address is another client address to the server).
    static func connected(port: Int, receiveBuffer: Int32? = nil, source: String? = nil) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        if var b = receiveBuffer { setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &b, socklen_t(MemoryLayout<Int32>.size)) }
        if let source {
            var local = sockaddr_in()
            local.sin_family = sa_family_t(AF_INET)
            local.sin_addr.s_addr = inet_addr(source)
            let b = withUnsafePointer(to: &local) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            #expect(b == 0, "bind to \(source)")
        }
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = in_port_t(UInt16(port).bigEndian)
        a.sin_addr.s_addr = inet_addr("127.0.0.1")
        let r = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        #expect(r == 0)
        return fd
    }

    func send(_ b: [UInt8]) { Self.send(fd, b) }
    static func send(_ fd: Int32, _ b: [UInt8]) { _ = b.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } }
    /// Exactly `n` bytes, or nil if they did not all arrive within `timeout` seconds.
    func read(_ n: Int, timeout: Double = 5) -> [UInt8]? { Self.read(fd, n, timeout: timeout) }
    static func read(_ fd: Int32, _ n: Int, timeout: Double) -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: n), got = 0
        let end = Date(timeIntervalSinceNow: timeout)
        while got < n {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            if poll(&p, 1, Int32(max(0, end.timeIntervalSinceNow) * 1000)) <= 0 { return nil }
            let r = out[got...].withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if r <= 0 { return nil }
            got += r
        }
        return out
    }
    /// One Raw FramebufferUpdate's rectangles.
    func update(timeout: Double = 5) -> [RFBRect]? {
        guard let h = read(4, timeout: timeout), h[0] == 0 else { return nil }
        var rects: [RFBRect] = []
        for _ in 0..<(Int(h[2]) << 8 | Int(h[3])) {
            guard let r = read(12) else { return nil }
            let rect = RFBRect(x: Int(r[0]) << 8 | Int(r[1]), y: Int(r[2]) << 8 | Int(r[3]), width: Int(r[4]) << 8 | Int(r[5]), height: Int(r[6]) << 8 | Int(r[7]))
            guard read(rect.width * rect.height * 4) != nil else { return nil }
            rects.append(rect)
        }
        return rects
    }
}

@Suite("RFB server over a socket", .serialized)
struct ServerTests {
    func start(_ source: MemorySource, input: RecordingInput? = nil) throws -> (RFBServer, Socket) {
        var o = RFBServerOptions()
        o.port = 0
        let server = try RFBServer(source: source, options: o, input: input, log: { _ in })
        return (server, try Socket.pastServerInit(server))
    }

    @Test("an incremental request waits, without polling, until the display changes; then exactly the changed block comes")
    func heldUntilChange() throws {
        let source = MemorySource(width: 300, height: 200)
        let (server, s) = try start(source)
        defer { server.stop() }
        s.send([3, 0, 0, 0, 0, 0, 1, 44, 0, 200]) // full
        #expect(s.update() == [RFBRect(x: 0, y: 0, width: 300, height: 200)])
        s.send([3, 1, 0, 0, 0, 0, 1, 44, 0, 200]) // incremental
        let readsBefore = source.reads.load(ordering: .relaxed)
        #expect(s.read(1, timeout: 0.5) == nil, "nothing changed: no update")
        #expect(source.reads.load(ordering: .relaxed) - readsBefore <= 1, "the held request does not poll the display")
        source.paint(RFBRect(x: 70, y: 20, width: 9, height: 14), 0x00FF_0000)
        #expect(s.update() == [RFBRect(x: 70, y: 20, width: 9, height: 14)])
        // Repainting the same colour dirties tiles but changes no pixel: still held.
        s.send([3, 1, 0, 0, 0, 0, 1, 44, 0, 200])
        source.paint(RFBRect(x: 70, y: 20, width: 9, height: 14), 0x00FF_0000)
        #expect(s.read(1, timeout: 0.3) == nil)
        source.paint(RFBRect(x: 299, y: 199, width: 1, height: 1), 0x0000_FF00)
        #expect(s.update() == [RFBRect(x: 299, y: 199, width: 1, height: 1)])
        #expect(server.clientCount == 1)
    }

    @Test("the work under the display's lock does not grow with clients: after a repaint, 8 clients copy its tiles once, as 1 does")
    func lockWorkPerRefreshNotPerClient() throws {
        var copied: [Int: Int] = [:]
        for n in [1, 8] {
            let source = MemorySource(width: 300, height: 200)
            var o = RFBServerOptions()
            o.port = 0
            let server = try RFBServer(source: source, options: o, input: nil, log: { _ in })
            defer { server.stop() }
            var sockets: [Socket] = []
            for _ in 0..<n {
                let s = try Socket.pastServerInit(server)
                s.send([3, 0, 0, 0, 0, 0, 1, 44, 0, 200])
                #expect(s.update() == [RFBRect(x: 0, y: 0, width: 300, height: 200)])
                sockets.append(s)
            }
            let before = server.surface.statistics.bytesCopiedUnderLock
            for s in sockets { s.send([3, 1, 0, 0, 0, 0, 1, 44, 0, 200]) }
            source.paint(RFBRect(x: 70, y: 20, width: 9, height: 14), 0x00FF_0000)
            for s in sockets { #expect(s.update() == [RFBRect(x: 70, y: 20, width: 9, height: 14)]) }
            copied[n] = server.surface.statistics.bytesCopiedUnderLock - before
            #expect(server.surface.statistics.framesAllocated <= 3, "frames are shared, not one per client")
        }
        // The block spans two 64x16 tiles: 2 * 64 * 16 * 4 bytes, copied once for everyone.
        #expect(copied[1] == 2 * 64 * 16 * 4)
        #expect(copied[8] == copied[1])
    }

    @Test("key and pointer events reach the input sink as evdev codes and absolute positions")
    func input() throws {
        let source = MemorySource(width: 300, height: 200)
        let recorder = RecordingInput()
        let (server, s) = try start(source, input: recorder)
        defer { server.stop() }
        s.send([4, 1, 0, 0, 0, 0, 0, 0x71, 4, 0, 0, 0, 0, 0, 0, 0x71]) // q down, up
        s.send([5, 1, 0, 10, 0, 20, 5, 0, 0, 10, 0, 20, 5, 8, 0, 10, 0, 20]) // left press at (10, 20), release, wheel up
        let deadline = Date(timeIntervalSinceNow: 60) // a bound on the wait, not a speed
        while recorder.events.count < 6 && Date() < deadline { usleep(10_000) }
        #expect(recorder.events == [.key(code: 16, down: true), .key(code: 16, down: false), .pointer(x: 10, y: 20),
                                    .button(.left, down: true), .button(.left, down: false), .wheel(vertical: 1, horizontal: 0)])
    }
}
