import Foundation
import Input
import NIOCore
import NIOPosix
import Synchronization

/// How an `RFBServer` listens and treats its clients.
public struct RFBServerOptions: Sendable {
    public var host = "127.0.0.1"
    public var port = 5900
    /// VNC Authentication with this password (first 8 bytes), or security None when nil.
    public var password: [UInt8]?
    /// A client whose socket stays full (it reads nothing) this long is dropped.
    public var stallTimeout: Double = 10
    /// A client that has not finished the handshake this long after connecting is dropped.
    public var handshakeTimeout: Double = 30
    /// Wrong VNC passwords in a row from one address before it is refused (0: never), and
    /// the first refusal's length in seconds; each later one doubles (TigerVNC's 5 and 10 s).
    public var authBlockAfter = 5
    public var authBlockSeconds: Double = 10
    /// Connections at once, in the handshake or past it (QEMU's default, 32); one more is
    /// told why in the handshake and closed.
    public var maxClients = 32
    /// Seconds on a monotonic clock, for the authentication blocks (tests move it by hand).
    public var clock: @Sendable () -> Double = { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
    /// Bytes queued for a client above which its update pauses (between slices) until the
    /// socket drains; the client's dirty bits meanwhile gather what changes, and its next
    /// update carries the latest pixels: updates coalesce, memory stays bounded.
    public var highWater = 256 << 10
    /// TLS: the RFB port offers only VeNCrypt (type 19) with X509 subtypes, the WebSocket port
    /// speaks only `wss://` (see VeNCrypt.swift); nil: no TLS.
    public var tls: RFBTLSIdentity?
    /// Whether to listen for plain TCP clients (off when only WebSocket clients are served).
    public var listensTCP = true
    /// For measurements: called on an event loop thread once an update's last byte went to
    /// the client's socket, with when the server surface read the display it shows (its
    /// refresh, under the display's lock) and when the write completed (`DispatchTime`
    /// uptime nanoseconds).
    public var updateWritten: (@Sendable (_ readNanos: UInt64, _ writtenNanos: UInt64) -> Void)?
    /// Who answers a client's SetDesktopSize (ExtendedDesktopSize); without one every request
    /// is refused as prohibited (status 1).
    public var desktopResizer: (any DesktopResizer)?
    /// Seconds a SetDesktopSize waits for the guest's mode set before it is refused as out of
    /// resources (status 2).
    public var desktopResizeTimeout: Double = 5
    /// Refreshes run on the event loop of the oldest client, which then encodes and writes
    /// its update in the same task, with no hop to another thread (true); or always on one
    /// loop of the server's, each client woken on its own loop (false: the design before,
    /// kept for the latency benchmark's side-by-side comparison).
    public var refreshOnClientLoop = true
    public init() {}
}

/// An RFB (VNC) server for any number of clients, on SwiftNIO. After every refresh of the
/// display, one `ServerSurface` copies and compares the repainted tiles once and marks what
/// changed in each client's dirty bits; a client gets an update only when it asked for one
/// and something changed, encoded from the shared surface and written on NIO's event loop
/// threads, never on the harvest or vCPU threads. Lines for the log go to `log`; input goes
/// to `input`. `@unchecked Sendable`: the client tables, throttle and listeners are under `lock`;
/// `port` and `channel` are set while binding, before the server is shared.
public final class RFBServer: @unchecked Sendable {
    public let options: RFBServerOptions
    /// The port actually bound (useful when `options.port` is 0).
    public private(set) var port = 0
    let source: any FramebufferSource
    /// The one copy of the frame every client encodes from.
    let surface: ServerSurface
    let input: (any InputSink)?
    let log: @Sendable (String) -> Void
    private var channel: Channel?
    private var extraListeners: [Channel] = []
    private let lock = NSLock()
    private var connections: [ObjectIdentifier: RFBConnection] = [:]
    private var throttle: AuthThrottle
    /// Every connection admitted and not yet closed, in the handshake or past it.
    private var admitted: [ObjectIdentifier: RFBConnection] = [:]
    /// SetDesktopSize requests the guest was asked for: by whom, the size, and until when (on
    /// `options.clock`) a change to that size counts as that client's for the others (reason 2).
    private var resizeAsks: [(who: ObjectIdentifier, width: Int, height: Int, until: Double)] = []
    private let sent = Atomic<UInt64>(0)
    private let updates = Atomic<UInt64>(0)
    private let encodeNanos = Atomic<UInt64>(0)
    private let refreshQueued = Atomic<Bool>(false)
    private let stopped = Atomic<Bool>(false)
    let group: MultiThreadedEventLoopGroup
    /// The loop the surface's refreshes run on without clients (one at a time, never on the
    /// display's threads), and the oldest client's loop, where they run once there is one
    /// (with `options.refreshOnClientLoop`; under `lock`).
    private let refreshLoop: EventLoop
    private var clientLoop: EventLoop?

    /// Binds and starts accepting. Throws `RFBServerError.cannotListen` with the reason.
    public init(source: any FramebufferSource, options: RFBServerOptions, input: (any InputSink)?,
                log: @escaping @Sendable (String) -> Void) throws(RFBServerError) {
        self.source = source
        surface = ServerSurface(source: source)
        self.options = options
        self.input = input
        self.log = log
        throttle = AuthThrottle(blockAfter: options.authBlockAfter, blockSeconds: options.authBlockSeconds)
        group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, min(2, System.coreCount)))
        refreshLoop = group.next()
        if options.listensTCP { do {
            let ch = try clientBootstrap()
                .childChannelInitializer { [weak self] channel in
                    guard let self else { return channel.close() }
                    return channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(RFBConnection(server: self, channel: channel))
                    }
                }
                .bind(host: options.host, port: options.port).wait()
            channel = ch
            port = ch.localAddress?.port ?? options.port
        } catch {
            try? group.syncShutdownGracefully()
            throw .cannotListen("\(Self.describe(options.host, options.port)): \(Self.reason(error))")
        } }
        source.onChange { [weak self] in self?.scheduleRefresh() }
    }

    /// Closes the listener and every client.
    public func stop() {
        // No refresh is queued from now on (the display goes on syncing; the loops go away).
        stopped.store(true, ordering: .releasing)
        try? channel?.close().wait()
        for l in lock.withLock({ extraListeners }) { try? l.close().wait() }
        let all = lock.withLock { Array(connections.values) }
        for c in all { try? c.channel.close().wait() }
        try? group.syncShutdownGracefully()
    }

    /// Clients past the handshake now.
    public var clientCount: Int { lock.withLock { connections.count } }
    /// Bytes written to clients so far (updates and handshakes).
    public var bytesSent: UInt64 { sent.load(ordering: .relaxed) }

    /// FramebufferUpdates sent so far, and the time spent finding and encoding them (ns).
    public var updatesSent: UInt64 { updates.load(ordering: .relaxed) }
    public var encodeNanoseconds: UInt64 { encodeNanos.load(ordering: .relaxed) }

    func countUpdate(nanos: UInt64) {
        updates.add(1, ordering: .relaxed)
        encodeNanos.add(nanos, ordering: .relaxed)
    }

    func lockedAppend(_ listener: Channel) { lock.withLock { extraListeners.append(listener) } }

    /// A client past the handshake (already joined to the surface): a refresh brings the
    /// surface up to date for it and wakes it.
    func added(_ c: RFBConnection) {
        lock.withLock {
            connections[ObjectIdentifier(c)] = c
            if clientLoop == nil { clientLoop = c.channel.eventLoop }
        }
        scheduleRefresh()
    }

    /// A new connection from `address`: nil when it may go on (it holds one of the
    /// `maxClients` places until `closed`), else why it is turned away.
    func admit(_ c: RFBConnection, address: String) -> String? {
        lock.withLock {
            if options.password != nil, let why = blockedLocked(address) { return why }
            guard admitted.count < options.maxClients else {
                return "too many clients: the server's limit of \(options.maxClients) connections is reached"
            }
            admitted[ObjectIdentifier(c)] = c
            return nil
        }
    }

    /// `c` asked for the screen alone (ClientInit with shared = 0): every other connection,
    /// in the handshake or past it, is closed with a line, as QEMU and TigerVNC do by default.
    func exclusive(_ c: RFBConnection) {
        let others = lock.withLock { admitted.values.filter { $0 !== c } }
        for o in others { o.disconnect("VNC client \(c.peer) asked for the screen alone (ClientInit not shared)") }
    }

    /// `c` closed: its place is free.
    func closed(_ c: RFBConnection) { _ = lock.withLock { admitted.removeValue(forKey: ObjectIdentifier(c)) } }

    /// Why a connection from `address` is refused now after failed authentications, or nil.
    func blocked(_ address: String) -> String? { lock.withLock { blockedLocked(address) } }

    private func blockedLocked(_ address: String) -> String? {
        guard let left = throttle.blocked(address, now: options.clock()) else { return nil }
        return "too many failed authentications from \(address): try again in \(Int(left.rounded(.up))) s"
    }

    /// `c`'s SetDesktopSize for `width` x `height` was passed to the guest.
    func noteResizeAsk(_ c: RFBConnection, width: Int, height: Int) {
        let now = options.clock()
        lock.withLock {
            resizeAsks.removeAll { $0.until < now }
            resizeAsks.append((ObjectIdentifier(c), width, height, now + 2 * options.desktopResizeTimeout))
        }
    }

    /// Whether a change to `width` x `height` is another client's request (than `c`'s).
    func resizeAskedByAnother(than c: RFBConnection, width: Int, height: Int) -> Bool {
        let now = options.clock()
        return lock.withLock {
            resizeAsks.contains { $0.who != ObjectIdentifier(c) && $0.width == width && $0.height == height && $0.until >= now }
        }
    }

    func authenticationFailed(_ address: String) { lock.withLock { throttle.failed(address, now: options.clock()) } }
    func authenticationSucceeded(_ address: String) { lock.withLock { throttle.succeeded(address) } }

    func removed(_ c: RFBConnection, client: ServerSurface.Client) {
        surface.leave(client)
        lock.withLock {
            connections.removeValue(forKey: ObjectIdentifier(c))
            if let l = clientLoop, !connections.values.contains(where: { $0.channel.eventLoop === l }) {
                clientLoop = connections.values.first?.channel.eventLoop
            }
        }
        // The last client gone: stop reading the display (after any refresh already queued
        // there; a later one finds no client and reads nothing), so a run nobody watches idles.
        refreshLoop.execute { [surface] in surface.releaseIfUnused() }
    }
    func count(sent n: Int) { sent.add(UInt64(n), ordering: .relaxed) }

    /// From any thread (the display's, after a refresh): one surface refresh queued on the
    /// refresh loop, then every client woken. Nothing is read while no client is connected,
    /// nor once the server stopped.
    private func scheduleRefresh() {
        guard !stopped.load(ordering: .acquiring), !refreshQueued.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let loop = options.refreshOnClientLoop ? lock.withLock { clientLoop } ?? refreshLoop : refreshLoop
        loop.execute { [self] in
            refreshQueued.store(false, ordering: .releasing)
            guard clientCount > 0 else { return }
            surface.refresh()
            wakeAll()
        }
    }

    private func wakeAll() {
        let all = lock.withLock { Array(connections.values) }
        // A client on this loop encodes now, in this task; the others on their own loops.
        for c in all {
            if c.channel.eventLoop.inEventLoop { c.wake() } else { c.scheduleWake() }
        }
    }

    static func describe(_ host: String, _ port: Int) -> String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    static func reason(_ error: Error) -> String {
        if let io = error as? IOError { return String(cString: strerror(io.errnoCode)) }
        return "\(error)"
    }
}

public enum RFBServerError: Error, CustomStringConvertible {
    case cannotListen(String)
    public var description: String {
        switch self {
        case .cannotListen(let s): return "cannot listen for VNC clients on \(s)"
        }
    }
}

extension RFBServer {
    /// The listener every transport (RFB over TCP, WebSocket) starts from: backlog 64, the
    /// address reusable, no Nagle delay, and each client's write buffer water marks at half
    /// `options.highWater` and at it.
    func clientBootstrap() -> ServerBootstrap {
        let water = options.highWater
        return ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.writeBufferWaterMark, value: .init(low: water / 2, high: water))
    }
}
