import Display
import Foundation
import NIOCore
import Synchronization

/// One client: the handshake, its messages, and its updates. Everything here runs on the
/// channel's event loop, except `scheduleWake`, which any thread may call.
final class RFBConnection: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    unowned let server: RFBServer
    let channel: Channel
    let peer: String
    private var proto: RFBServerProtocol
    private var inbound: ByteBuffer?
    private var reader: (any FramebufferReader)?
    private var client: ClientFramebuffer?
    private var grid: TileGridBox?
    private var translator = PixelTranslator(format: .guestNative)
    private var choice = EncodingChoice()
    private var zrle: ZRLEEncoder?
    private var tight: TightEncoder?
    /// Where this client's picture is JPEG-lossy, for the lossless refresh once it goes quiet.
    private var lossy = LossyRegions()
    private var refreshTimer: Scheduled<Void>?
    /// Rectangles sent as JPEG, and lossless refreshes sent, for the disconnect line.
    private var jpegRects = 0, refreshes = 0
    private var input = InputTranslator()
    /// The client's outstanding FramebufferUpdateRequest (merged if several arrive).
    private var pending: (incremental: Bool, rect: RFBRect)?
    private var stalledSince: Date?
    private var closing = false
    private var timers: [Scheduled<Void>] = []
    private var stallTask: RepeatedTask?
    private let wakeQueued = Atomic<Bool>(false)
    /// FramebufferUpdates sent to this client.
    private var updates = 0

    init(server: RFBServer, channel: Channel) {
        self.server = server
        self.channel = channel
        peer = channel.remoteAddress.map { a in
            guard let ip = a.ipAddress, let port = a.port else { return "\(a)" }
            return RFBServer.describe(ip, port)
        } ?? "unknown peer"
        var challenge = [UInt8](repeating: 0, count: 16)
        var rng = SystemRandomNumberGenerator()
        for i in 0..<16 { challenge[i] = rng.next() }
        proto = RFBServerProtocol(password: server.options.password, challenge: challenge)
    }

    /// Added to a channel already open (after a WebSocket upgrade): start at once.
    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context)
        context.fireChannelActive()
    }

    private var started = false

    private func start(_ context: ChannelHandlerContext) {
        guard !started else { return }
        started = true
        send(RFBVersion.serverGreeting)
        let loop = context.eventLoop
        timers.append(loop.scheduleTask(in: .milliseconds(Int64(server.options.handshakeTimeout * 1000))) { [self] in
            if !proto.isNormal { drop(String(format: "the handshake did not finish within %g s", server.options.handshakeTimeout)) }
        })
        stallTask = loop.scheduleRepeatedTask(initialDelay: .milliseconds(250), delay: .milliseconds(250)) { [self] _ in checkStall() }
    }

    func channelInactive(context: ChannelHandlerContext) {
        for t in timers { t.cancel() }
        refreshTimer?.cancel()
        stallTask?.cancel()
        if reader != nil {
            server.removed(self)
            let lossy = jpegRects > 0 ? ", \(jpegRects) JPEG rectangles, \(refreshes) lossless refreshes" : ""
            if !closing { server.log("VNC client \(peer) disconnected after \(updates) updates (\(choice.name), \(translator.format.bitsPerPixel) bpp)\(lossy)") }
        } else if !closing {
            server.log("VNC client \(peer) left during the handshake")
        }
        closing = true
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closing else { return }
        var bytes = unwrapInboundIn(data)
        if inbound == nil { inbound = bytes } else { inbound!.writeBuffer(&bytes) }
        var out: [UInt8] = []
        do {
            while let event = try proto.next(&inbound!, output: &out) {
                if !out.isEmpty { send(out); out.removeAll() }
                handle(event)
                if closing { return }
            }
            if !out.isEmpty { send(out) }
        } catch {
            if !out.isEmpty { send(out) }
            drop("\(error)")
            return
        }
        if inbound!.readerIndex > 1 << 16 { inbound!.discardReadBytes() }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if channel.isWritable {
            stalledSince = nil
            wake()
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if !closing { drop("connection error: \(RFBServer.reason(error))") }
    }

    // MARK: - messages

    private func handle(_ event: RFBServerProtocol.Event) {
        switch event {
        case .initialized(let version, _):
            let r = server.source.makeReader(name: "vnc \(peer)")
            reader = r
            let g = server.source.geometry
            send(serverInit(width: g.width, height: g.height, name: server.source.desktopName))
            server.added(self)
            server.log("VNC client \(peer) connected (RFB \(version.rawValue)\(server.options.password != nil ? ", authenticated" : ""))")
        case .message(let m):
            switch m {
            case .setPixelFormat(let f):
                translator = PixelTranslator(format: f)
            case .setEncodings(let list):
                choice = EncodingChoice(clientList: list)
            case .updateRequest(let incremental, let rect):
                if let p = pending {
                    let x0 = min(p.rect.x, rect.x), y0 = min(p.rect.y, rect.y)
                    pending = (p.incremental && incremental,
                               RFBRect(x: x0, y: y0, width: max(p.rect.maxX, rect.maxX) - x0, height: max(p.rect.maxY, rect.maxY) - y0))
                } else {
                    pending = (incremental, rect)
                }
                wake()
            case .key(let down, let keysym):
                for e in input.key(down: down, keysym: keysym) { server.input?.push(e) }
            case .pointer(let buttons, let x, let y):
                let g = server.source.geometry
                for e in input.pointer(buttons: buttons, x: x, y: y, width: g.width, height: g.height) { server.input?.push(e) }
            case .cutText:
                break // read and ignored: the guest has no clipboard
            }
        }
    }

    // MARK: - updates

    /// From any thread: asks the event loop to look for an update (at most one queued).
    func scheduleWake() {
        guard !wakeQueued.exchange(true, ordering: .acquiringAndReleasing) else { return }
        channel.eventLoop.execute { [self] in
            wakeQueued.store(false, ordering: .releasing)
            wake()
        }
    }

    /// Sends an update if one is asked for, the socket has room, and (for an incremental
    /// request) something changed; otherwise the request waits for the next change.
    private func wake() {
        guard !closing, let reader, let req = pending else { return }
        guard channel.isWritable else {
            if stalledSince == nil { stalledSince = Date() }
            return
        }
        if req.incremental && !reader.hasChanges && !(client?.owesTiles ?? true)
            && !lossy.hasDue(now: DispatchTime.now().uptimeNanoseconds) { return }
        let started = DispatchTime.now().uptimeNanoseconds
        // Only the read holds off refreshes; the compare against what this client was sent
        // runs on the shared snapshot, with no lock held.
        let rects: [RFBRect]
        do {
            let (snapshot, dirty) = reader.read()
            if client == nil { client = ClientFramebuffer(geometry: snapshot.geometry, tiles: snapshot.grid.count) }
            grid = TileGridBox(snapshot.grid)
            client!.rowSpans = choice.encoding == EncodingType.raw
            rects = snapshot.withFrame { client!.collect(frame: $0, dirty: dirty, region: req.rect, full: !req.incremental) }
        }
        guard let client, let grid else { return }
        let resize = client.resized && choice.desktopSize
        lossy.fit(width: client.geometry.width, height: client.geometry.height)
        if rects.isEmpty && req.incremental && !resize && !lossy.hasDue(now: started) { return }
        pending = nil
        var w = UpdateWriter(lastRect: choice.lastRect && choice.encoding == EncodingType.tight)
        if resize {
            w.header(RFBRect(x: 0, y: 0, width: client.geometry.width, height: client.geometry.height), encoding: EncodingType.desktopSize)
        }
        if client.resized { client.resizeAnnounced() }
        let list = rects.count > 60000 ? [Self.bounds(rects)] : rects
        client.withSent(grid: grid.grid) { frame in
            // Changed areas first (JPEG allowed in incremental updates: the area is moving),
            // then the lossy areas that have gone quiet, exactly, from the same copy.
            encode(list, of: frame, into: &w, lossyAllowed: req.incremental, now: started)
            let refresh = lossy.takeDue(now: started)
            if !refresh.isEmpty {
                refreshes += 1
                encode(refresh, of: frame, into: &w, lossyAllowed: false, now: started)
            }
        }
        let message = w.finish()
        server.countUpdate(nanos: DispatchTime.now().uptimeNanoseconds - started)
        updates += 1
        send(message, readAt: started)
        armRefresh()
    }

    /// Wakes this connection when the next lossy area is due for its lossless refresh.
    private func armRefresh() {
        // A due refresh with no request outstanding waits for the next request (see `wake`).
        guard refreshTimer == nil, !closing, let due = lossy.nextDue, due > DispatchTime.now().uptimeNanoseconds else { return }
        refreshTimer = channel.eventLoop.scheduleTask(deadline: .uptimeNanoseconds(due)) { [self] in
            refreshTimer = nil
            wake()
            armRefresh()
        }
    }

    private func encode(_ rects: [RFBRect], of frame: FrameView, into w: inout UpdateWriter, lossyAllowed: Bool, now: UInt64) {
        switch choice.encoding {
        case EncodingType.zrle:
            let z = zrle ?? ZRLEEncoder()
            zrle = z
            for r in rects {
                w.header(r, encoding: EncodingType.zrle)
                w.withBytes { z.encode(r, of: frame, translator: translator, into: &$0) }
            }
        case EncodingType.tight:
            let t = tight ?? TightEncoder()
            tight = t
            t.jpeg = choice.jpeg
            for r in rects {
                for piece in TightEncoder.split(r) {
                    w.header(piece, encoding: EncodingType.tight)
                    let jpeg = w.withBytes { t.encode(piece, of: frame, translator: translator, into: &$0, lossy: lossyAllowed) }
                    if jpeg { jpegRects += 1 }
                    if jpeg || !lossy.isEmpty { lossy.sent(piece, lossy: jpeg, now: now) }
                }
            }
        default:
            for r in rects {
                w.header(r, encoding: EncodingType.raw)
                w.withBytes { translator.appendRect(r, of: frame, to: &$0) }
            }
        }
    }

    private static func bounds(_ rects: [RFBRect]) -> RFBRect {
        let x0 = rects.map(\.x).min()!, y0 = rects.map(\.y).min()!
        return RFBRect(x: x0, y: y0, width: rects.map(\.maxX).max()! - x0, height: rects.map(\.maxY).max()! - y0)
    }

    private func checkStall() {
        guard !closing else { return }
        if channel.isWritable { stalledSince = nil; return }
        let since = stalledSince ?? Date()
        stalledSince = since
        if Date().timeIntervalSince(since) > server.options.stallTimeout {
            drop(String(format: "it read nothing for %g s (its socket stayed full)", server.options.stallTimeout))
        }
    }

    private func send(_ bytes: [UInt8], readAt: UInt64? = nil) {
        guard channel.isActive else { return }
        server.count(sent: bytes.count)
        if let readAt, let written = server.options.updateWritten {
            channel.writeAndFlush(channel.allocator.buffer(bytes: bytes)).whenSuccess { written(readAt, DispatchTime.now().uptimeNanoseconds) }
        } else {
            channel.writeAndFlush(channel.allocator.buffer(bytes: bytes), promise: nil)
        }
    }

    /// Drops the client with one log line; the server and the other clients go on.
    private func drop(_ why: String) {
        guard !closing else { return }
        closing = true
        server.log("VNC client \(peer) dropped: \(why)")
        if reader != nil { server.removed(self) }
        channel.close(promise: nil)
    }
}

/// Carries a tile grid (a class from Display) out of a read.
struct TileGridBox {
    let grid: TileGrid
    init(_ grid: TileGrid) { self.grid = grid }
}
