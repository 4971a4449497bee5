import Display
import Foundation
import NIOCore
import Synchronization

/// One client: the handshake, its messages, and its updates. `@unchecked Sendable`: its
/// state is touched only on the channel's event loop; `scheduleWake` (any thread) hops there.
final class RFBConnection: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    unowned let server: RFBServer
    let channel: Channel
    let peer: String
    /// The client's address without its port: what authentication failures are counted by.
    let address: String
    var proto: RFBServerProtocol
    var inbound: ByteBuffer?
    /// This client's handle on the server surface, once past the handshake.
    private var surfaceClient: ServerSurface.Client?
    /// Pixel format, encodings, lossy areas and the update being written.
    let encoder = UpdateEncoder()
    var refreshTimer: Scheduled<Void>?
    private var input = InputTranslator()
    /// The client's outstanding FramebufferUpdateRequest (merged if several arrive).
    var pending: (incremental: Bool, rect: RFBRect)?
    /// Continuous updates (see RFBConnection+Continuous.swift): their region while enabled,
    /// messages waiting for the update being written to end, and the fence state.
    var continuous = ContinuousState()
    /// ExtendedDesktopSize: rectangles owed and a SetDesktopSize waiting (RFBConnection+DesktopSize.swift).
    var desktopSize = DesktopSizeState()
    /// Updates whose last byte NIO has not yet handed to the socket.
    var unflushedUpdates = 0
    /// Whether messages are being handled now (they are not handled re-entrantly), and
    /// whether an update should be looked for once they are.
    private var handlingMessages = false
    var wakeWanted = false
    /// When the socket last filled (see RFBConnection+Stall.swift).
    var stalledSince: Date?
    /// What the client's TCP had acknowledged when its socket last filled (see `TCPProgress`).
    var progressAtStall: TCPProgress?
    private(set) var closing = false
    private var timers: [Scheduled<Void>] = []
    private var stallTask: RepeatedTask?
    private let wakeQueued = Atomic<Bool>(false)
    /// Key events this client sent by XT code (QEMU Extended Key Events), for its last line.
    private var xtKeyEvents = 0
    /// FramebufferUpdates sent to this client.
    private var updates = 0
    /// Of them, those sent as continuous updates (no request), and whether the one being written is.
    private var continuousUpdates = 0, writingContinuous = false
    /// When the surface read the display the update being written shows (uptime ns, for the
    /// measurement hook), and the time spent taking and encoding it so far.
    private var updateStarted: UInt64 = 0, updateNanos: UInt64 = 0

    /// `webSocket`: the client came through the WebSocket port (whose TLS, if any, is under the WebSocket).
    init(server: RFBServer, channel: Channel, webSocket: Bool = false) {
        self.server = server
        self.channel = channel
        peer = channel.remoteAddress.map { a in
            guard let ip = a.ipAddress, let port = a.port else { return "\(a)" }
            return RFBServer.describe(ip, port)
        } ?? "unknown peer"
        address = channel.remoteAddress?.ipAddress ?? peer
        let challenge = (0..<16).map { _ in UInt8.random(in: .min ... .max) } // the system's CSPRNG
        proto = RFBServerProtocol(password: server.options.password, challenge: challenge, vencrypt: !webSocket && server.options.tls != nil)
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
        proto.refusal = server.admit(self, address: address)
        send(RFBVersion.serverGreeting)
        let loop = context.eventLoop
        timers.append(loop.scheduleTask(in: .milliseconds(Int64(server.options.handshakeTimeout * 1000))) { [self] in
            if !proto.isNormal { drop(String(format: "the handshake did not finish within %g s", server.options.handshakeTimeout)) }
        })
        stallTask = loop.scheduleRepeatedTask(initialDelay: .milliseconds(250), delay: .milliseconds(250)) { [self] _ in checkStall() }
    }

    func channelInactive(context: ChannelHandlerContext) {
        server.closed(self)
        // Whatever the client held goes up now: the next client must not find a button down.
        for e in input.releaseAll() { server.input?.push(e) }
        for t in timers { t.cancel() }
        refreshTimer?.cancel()
        stallTask?.cancel()
        endDesktopSize()
        if let c = surfaceClient {
            server.removed(self, client: c)
            let e = encoder
            let lossy = e.jpegRects > 0 ? ", \(e.jpegRects) JPEG rectangles, \(e.refreshes) lossless refreshes" : ""
            let xt = xtKeyEvents > 0 ? ", \(xtKeyEvents) key events by XT code" : ""
            let cu = continuousUpdates > 0 ? ", \(continuousUpdates) of them continuous" : ""
            if !closing { server.log("VNC client \(peer) disconnected after \(updates) updates (\(e.choice.name), \(e.translator.format.bitsPerPixel) bpp)\(cu)\(lossy)\(xt)") }
        } else if !closing {
            server.log("VNC client \(peer) left during the handshake")
        }
        closing = true
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closing else { return }
        var bytes = unwrapInboundIn(data)
        if inbound == nil { inbound = bytes } else { inbound!.writeBuffer(&bytes) }
        handleMessages()
    }

    /// Handles the messages that have arrived (none while a fence's BlockAfter holds them),
    /// then looks for an update if one of them asked for it: after the messages, so that a
    /// fence reply they queue goes out before an update they cause.
    func handleMessages() {
        guard !closing, !handlingMessages, inbound != nil else { return }
        handlingMessages = true
        parseMessages()
        handlingMessages = false
        if wakeWanted && !closing {
            wakeWanted = false
            wake()
        }
    }

    private func parseMessages() {
        var out: [UInt8] = []
        // An address blocked while this client was in the handshake is refused at its next step.
        if !proto.isNormal, proto.refusal == nil { proto.refusal = refusal() }
        do {
            while !continuous.holding, let event = try proto.next(&inbound!, output: &out) {
                if !out.isEmpty { send(out); out.removeAll() }
                // A SyncNext fence is answered once the message after it was handled.
                let synced = continuous.takeSyncFence()
                handle(event)
                if closing { return }
                if let synced { replyToFence(synced) }
            }
            if !out.isEmpty { send(out) }
        } catch {
            // The failure is counted before the client hears of it, so its next try sees the block.
            if error == .authenticationFailed { server.authenticationFailed(address) }
            if !out.isEmpty { send(out) }
            switch error {
            case .refused(let why):
                closing = true
                server.log("VNC client \(peer) refused: \(why)")
                channel.close(promise: nil)
                return
            default: break
            }
            drop("\(error)")
            return
        }
        if inbound!.readerIndex > 1 << 16 { inbound!.discardReadBytes() }
    }

    /// Why this connection is turned away now, in the handshake, or nil: only an address
    /// blocked after wrong passwords (with a password to guess).
    private func refusal() -> String? {
        server.options.password != nil ? server.blocked(address) : nil
    }

    // MARK: - messages

    private func handle(_ event: RFBServerProtocol.Event) {
        switch event {
        case .initialized(let version, let shared):
            if server.options.password != nil { server.authenticationSucceeded(address) }
            let g = server.source.geometry
            surfaceClient = server.surface.join(told: g)
            send(serverInit(width: g.width, height: g.height, name: server.source.desktopName))
            server.added(self)
            // The line's start is unchanged by the shared flag (scripts and tests wait for it).
            server.log("VNC client \(peer) connected (RFB \(version.rawValue)\(server.options.password != nil ? ", authenticated" : ""))"
                + (shared ? "" : " and asked for the screen alone"))
            if !shared { server.exclusive(self) }
        case .startTLS(let subtype):
            startTLS(subtype)
        case .message(let m):
            switch m {
            case .setPixelFormat(let f):
                encoder.translator = PixelTranslator(format: f)
            case .setEncodings(let list):
                let had = encoder.choice
                encoder.choice = EncodingChoice(clientList: list)
                // Told once, in the next update, that its XT key codes are understood.
                if encoder.choice.qemuExtendedKeyEvent && !had.qemuExtendedKeyEvent { encoder.extendedKeyAckDue = true }
                announceExtensions()
                encoder.setCursorSupport(CursorEncoding.Support(clientList: list))
            case .updateRequest(let incremental, let rect):
                if !incremental { layoutRequested() }
                request(incremental: incremental, rect)
            case .setDesktopSize(let r):
                setDesktopSize(r)
            case .enableContinuousUpdates(let enable, let rect):
                enableContinuousUpdates(enable, rect)
            case .fence(let flags, let payload):
                fence(flags: flags, payload: payload)
            case .key(let down, let keysym):
                for e in input.key(down: down, keysym: keysym) { server.input?.push(e) }
            case .extendedKey(let down, let keysym, let keycode):
                if xtKeyEvents == 0 { server.log("VNC client \(peer) sends keys by XT code (QEMU Extended Key Event)") }
                xtKeyEvents += 1
                for e in input.extendedKey(down: down, keysym: keysym, keycode: keycode) { server.input?.push(e) }
            case .pointer(let buttons, let x, let y):
                let g = server.source.geometry
                encoder.clientCursor.clientPointer = (Int(x), Int(y))
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

    /// Writes the update in progress, or starts one if one is asked for (by a request, or by
    /// continuous updates once the last update left the server's buffer) and (when
    /// incremental) something changed; otherwise the request waits for the next refresh.
    /// Stops while the socket is full and goes on when it drains.
    func wake() {
        guard !closing, let client = surfaceClient else { return }
        guard channel.isWritable else {
            markStall()
            return
        }
        let t0 = DispatchTime.now().uptimeNanoseconds
        sendDesktopSizesDue()
        let frame: FrameSnapshot
        if encoder.isWriting {
            guard let latest = server.surface.latest else { return }
            frame = latest
        } else {
            guard let req = pending ?? continuousRequest() else { return }
            let now = t0
            let ack = encoder.extendedKeyAckDue
            let cursorOwed = encoder.planCursor(server.source.cursor)
            if req.incremental && !server.surface.isOwed(client) && !encoder.lossy.hasDue(now: now) && !ack && !cursorOwed { return }
            // Only the take holds the surface's lock; encoding runs on the frame, no lock held.
            guard let take = server.surface.take(client, region: req.rect, full: !req.incremental, rowSpans: encoder.rowSpans) else { return }
            encoder.lossy.fit(width: take.frame.geometry.width, height: take.frame.geometry.height)
            if take.resized && encoder.choice.extendedDesktopSize {
                desktopSizeChanged(to: take.frame.geometry)
                sendDesktopSizesDue()
            }
            let resize = take.resized && encoder.choice.desktopSize
            if take.rects.isEmpty && req.incremental && !resize && !ack && !cursorOwed && !encoder.lossy.hasDue(now: now) { return }
            pending = nil
            updateStarted = take.readNanos
            updateNanos = 0
            writingContinuous = req.incremental && continuous.region != nil
            encoder.begin(take, incremental: req.incremental, now: now, allocator: channel.allocator)
            frame = take.frame
        }
        let done = encoder.resume(from: frame, sliceBytes: Self.sliceBytes, canContinue: { channel.isWritable }) { slice, last in
            send(slice, readAt: last ? updateStarted : nil)
        }
        updateNanos += DispatchTime.now().uptimeNanoseconds - t0
        guard done else {
            markStall()
            return
        }
        server.countUpdate(nanos: updateNanos)
        updates += 1
        if writingContinuous { continuousUpdates += 1 }
        armRefresh()
        // Replies held back while the update was written go out after it, before the next.
        flushHeldMessages()
        // A request that came while this update was written is answered now, not at the next refresh.
        if pending != nil { wake() }
    }

    /// Drops the client with one log line; the server and the other clients go on.
    func drop(_ why: String) {
        guard !closing else { return }
        closing = true
        server.log("VNC client \(peer) dropped: \(why)")
        if let c = surfaceClient { server.removed(self, client: c) }
        channel.close(promise: nil)
    }
}
