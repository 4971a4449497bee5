#if canImport(Glibc)
import Glibc
#endif
import MigrationWire
import NIOCore
import NIOPosix
import NIOSSL

/// One migration stream over TCP: whole frames in, whole frames out. Built on SwiftNIO; the
/// messages themselves are `MigrationWire`'s. Not `Sendable`: one task owns it from `run` to
/// its end.
///
/// Liveness is the pipeline's (`ConnectionLiveness`): once the hellos agree, each side sends
/// a heartbeat every `heartbeatInterval`, the other drops it, and `timeout` seconds with
/// nothing at all arriving close the connection with that reason. So a side that only
/// receives (the destination during the pre-copy) is heard from, and a peer that stops
/// (SIGSTOP, a dead link) is noticed `timeout` seconds after it went quiet.
final class MigrationConnection {
    private let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
    private var inbound: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator?
    private var outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>?
    let peer: String
    let liveness: ConnectionLiveness
    /// Frame bytes sent and received so far.
    private(set) var bytesSent = 0
    private(set) var bytesReceived = 0
    /// Messages read so far (heartbeats and round acknowledgements are not: `KeepAliveFilter`).
    private(set) var messagesReceived = 0

    /// Completes when the TLS handshake has (nil without TLS).
    private let handshake: EventLoopFuture<Void>?

    init(_ configured: ConfiguredChannel) {
        channel = configured.channel
        liveness = configured.liveness
        handshake = configured.handshake
        peer = channel.channel.remoteAddress.map(Self.describe) ?? "the other side"
    }

    /// A new migration channel with its pipeline, and the liveness handler in it.
    struct ConfiguredChannel: Sendable {
        let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
        let liveness: ConnectionLiveness
        var handshake: EventLoopFuture<Void>?
    }

    /// The channel, to close the connection from elsewhere (it is `Sendable`).
    var channelToClose: Channel { channel.channel }

    /// `HOST:PORT` (`[V6]:PORT`), not NIO's `[IPv4]host/ip:port`.
    static func describe(_ address: SocketAddress) -> String {
        guard let ip = address.ipAddress, let port = address.port else { return "\(address)" }
        return ip.contains(":") ? "[\(ip)]:\(port)" : "\(ip):\(port)"
    }

    /// Sets the pipeline of a new migration channel: TLS if asked (`MigrationTLSPipeline`), the
    /// liveness check and frames. `tls` is this side's context and role; `host` the name the
    /// source connected to.
    static func configure(_ channel: Channel, timeout: Double, tls: (NIOSSLContext, MigrationTLS.Role)? = nil,
                          host: String? = nil) -> EventLoopFuture<ConfiguredChannel> {
        channel.eventLoop.makeCompletedFuture {
            let ops = channel.pipeline.syncOperations
            let liveness = ConnectionLiveness(timeout: timeout)
            var handshake: EventLoopPromise<Void>?
            if case let (context, role)? = tls {
                let promise = channel.eventLoop.makePromise(of: Void.self)
                do { try MigrationTLSPipeline.add(to: ops, context: context, role: role, host: host, liveness: liveness, handshake: promise) } catch {
                    promise.fail(error) // never dropped unfulfilled
                    throw error
                }
                handshake = promise
            }
            try ops.addHandler(IdleStateHandler(readTimeout: .milliseconds(Int64(timeout * 1000))))
            try ops.addHandler(liveness)
            try ops.addHandler(ByteToMessageHandler(FrameDecoder(plain: tls == nil)))
            try ops.addHandler(KeepAliveFilter(liveness: liveness))
            return ConfiguredChannel(channel: try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel),
                                     liveness: liveness, handshake: handshake?.futureResult)
        }
    }

    /// Connects to `host:port`, over TLS with `tls` (its files read first: a wrong one is
    /// `MigrationError.tls` before anything is sent).
    static func connect(host: String, port: Int, timeout: Double, tls: MigrationTLS? = nil) async throws -> MigrationConnection {
        let context = try tls.map { try $0.context(for: .source) }
        do {
            let ch = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.milliseconds(Int64(timeout * 1000)))
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .connect(host: host, port: port) { configure($0, timeout: timeout, tls: context.map { ($0, .source) }, host: host) }
            return MigrationConnection(ch)
        } catch {
            let address = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
            throw MigrationError.cannotConnect("\(address): \(connectFailure(error, timeout: timeout))")
        }
    }

    /// Why a connect failed, in words: NIO's own text is a dump of its error structs.
    static func connectFailure(_ error: Error, timeout: Double) -> String {
        if let e = error as? NIOConnectionError {
            if e.dnsAError != nil || e.dnsAAAAError != nil { return "the name \(e.host) does not resolve" }
            if let first = e.connectionErrors.first { return connectFailure(first.error, timeout: timeout) }
        }
        if let io = error as? IOError { return String(cString: strerror(io.errnoCode)) }
        if case ChannelError.connectTimeout = error { return String(format: "no answer within %g s", timeout) }
        return "\(error)"
    }

    /// Runs `body` with the stream open, then closes it (also when `body` throws).
    func run<R: Sendable>(_ body: (MigrationConnection) async throws -> R) async throws -> R {
        try await channel.executeThenClose { inbound, outbound in
            self.inbound = inbound.makeAsyncIterator()
            self.outbound = outbound
            defer { self.inbound = nil; self.outbound = nil }
            return try await body(self)
        }
    }

    /// Waits for the TLS handshake to complete (at once without TLS), so that what is timed
    /// after it (the hellos' round trip, for the downtime estimate) is the link, not the handshake.
    func tlsEstablished() async throws {
        guard let handshake else { return }
        do { try await handshake.get() } catch { throw liveness.reason ?? error }
    }

    /// Whether the connection is TLS.
    var usesTLS: Bool { handshake != nil }

    /// The kernel's smoothed round trip of this TCP connection (`TCP_INFO`), in seconds; nil
    /// where it cannot be read. Over TLS the hellos' round trip also holds the destination's
    /// check of the source's certificate, which is no part of the link.
    func kernelRoundTrip() async -> Double? {
        #if os(Linux)
        guard let provider = channel.channel as? SocketOptionProvider, let info = try? await provider.getTCPInfo().get(),
              info.tcpi_rtt > 0 else { return nil }
        return Double(info.tcpi_rtt) / 1e6
        #else
        return nil
        #endif
    }

    /// Starts sending heartbeats: once the hellos agree, so a peer of another version never
    /// sees a message it does not know.
    func startHeartbeats() { liveness.startHeartbeats(on: channel.channel) }

    func send(_ message: MigrationMessage) async throws {
        var bytes: [UInt8] = []
        MigrationWire.encode(message, into: &bytes)
        try await sendFrames(bytes)
    }

    /// Sends bytes that already hold whole frames.
    func sendFrames(_ bytes: [UInt8]) async throws {
        guard let outbound else { throw MigrationError.connectionLost("the connection is closed") }
        bytesSent += bytes.count
        do { try await outbound.write(ByteBuffer(bytes: bytes)) } catch {
            if let why = await waitingAbort() { throw MigrationError.peerAborted(why) }
            throw liveness.reason ?? MigrationError.connectionLost("sending to \(peer) failed: \(failure(error))")
        }
    }

    /// The abort the peer sent before it closed, if it is waiting unread: a send that fails
    /// because the peer gave up and closed reports why it gave up, not the closed connection.
    private func waitingAbort() async -> String? {
        guard liveness.framesPassedOn > messagesReceived, case .abort(let why)? = try? await receive() else { return nil }
        return why
    }

    /// The next message; throws when the peer closed, went quiet past the timeout, or sent
    /// bytes that are not a valid message.
    func receive() async throws -> MigrationMessage {
        guard var it = inbound else { throw MigrationError.connectionLost("the connection is closed") }
        defer { inbound = it }
        let next: ByteBuffer?
        do { next = try await it.next() } catch let e as MigrationWireError { throw e } catch let e as MigrationError { throw e } catch {
            throw liveness.reason ?? MigrationError.connectionLost(failure(error))
        }
        guard var frame = next else { throw liveness.reason ?? MigrationError.connectionLost("\(peer) closed the connection") }
        bytesReceived += frame.readableBytes + 4
        messagesReceived += 1
        let body = frame.readBytes(length: frame.readableBytes) ?? []
        return try MigrationWire.decode(body)
    }

    /// Whether the peer has closed the connection or sent a message not yet read: the other
    /// side is done with the exchange (an abort, as a rule) while this one only sends.
    var peerHasSpoken: Bool { !channel.channel.isActive || liveness.framesPassedOn > messagesReceived }

    /// The next message, or the other side's abort as `peerAborted`.
    func expect() async throws -> MigrationMessage {
        let m = try await receive()
        if case .abort(let why) = m { throw MigrationError.peerAborted(why) }
        return m
    }

    /// What went wrong, in words: NIO says only "I/O on closed channel" when the peer has gone.
    private func failure(_ error: Error) -> String {
        // A peer that dies with bytes unread resets the connection instead of closing it.
        if let io = error as? IOError, io.errnoCode == ECONNRESET { return "\(peer) reset the connection" }
        if let io = error as? IOError { return "\(peer): \(String(cString: strerror(io.errnoCode)))" }
        if let e = error as? ChannelError {
            switch e {
            case .ioOnClosedChannel, .alreadyClosed, .outputClosed, .eof: return "\(peer) closed the connection"
            default: break
            }
        }
        return "\(error)"
    }
}

/// Splits the byte stream into frame bodies (length checked before anything is buffered).
/// On a connection without TLS (`plain`), a first record that is a TLS handshake means the
/// other side was given `--migrate-tls-*` and this one was not: it is told so in a frame (which
/// its TLS reads as "not TLS"), and this side says it in words instead of "a frame of N bytes".
struct FrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer
    let plain: Bool
    private var first = true
    init(plain: Bool) { self.plain = plain }

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let header = buffer.getBytes(at: buffer.readerIndex, length: min(5, buffer.readableBytes)) else { return .needMoreData }
        if first && plain && header.count >= 2 && header[0] == 22 && header[1] == 3 { throw Self.tlsPeer(context) }
        guard let length = try MigrationWire.frameLength(header) else { return .needMoreData }
        guard buffer.readableBytes >= 4 + length else { return .needMoreData }
        first = false
        buffer.moveReaderIndex(forwardBy: 4)
        context.fireChannelRead(Self.wrapInboundOut(buffer.readSlice(length: length)!))
        return .continue
    }

    private static func tlsPeer(_ context: ChannelHandlerContext) -> MigrationError {
        let address = context.channel.remoteAddress.map(MigrationConnection.describe) ?? "the other side"
        var frame: [UInt8] = []
        MigrationWire.encode(.abort("this side does not use TLS"), into: &frame)
        context.writeAndFlush(NIOAny(ByteBuffer(bytes: frame)), promise: nil)
        return .tls("\(address) speaks TLS and this side does not: give both sides --migrate-tls-cert, --migrate-tls-key and --migrate-tls-ca")
    }
}
