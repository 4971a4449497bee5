#if canImport(Glibc)
import Glibc
#endif
import MigrationWire
import NIOCore
import NIOPosix

/// One migration stream over TCP: whole frames in, whole frames out, with a read timeout.
/// Built on SwiftNIO; the messages themselves are `MigrationWire`'s. Not `Sendable`: one
/// task owns it from `run` to its end.
final class MigrationConnection {
    private let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
    private var inbound: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator?
    private var outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>?
    let peer: String
    /// Frame bytes sent and received so far.
    private(set) var bytesSent = 0
    private(set) var bytesReceived = 0

    init(_ channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>) {
        self.channel = channel
        peer = channel.channel.remoteAddress.map(Self.describe) ?? "the other side"
    }

    /// `HOST:PORT` (`[V6]:PORT`), not NIO's `[IPv4]host/ip:port`.
    static func describe(_ address: SocketAddress) -> String {
        guard let ip = address.ipAddress, let port = address.port else { return "\(address)" }
        return ip.contains(":") ? "[\(ip)]:\(port)" : "\(ip):\(port)"
    }

    /// Sets the pipeline of a new migration channel: frames, and a close after `timeout`
    /// seconds without input.
    static func configure(_ channel: Channel, timeout: Double) -> EventLoopFuture<NIOAsyncChannel<ByteBuffer, ByteBuffer>> {
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(IdleStateHandler(readTimeout: .milliseconds(Int64(timeout * 1000))))
            try channel.pipeline.syncOperations.addHandler(CloseWhenIdle(seconds: timeout))
            try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder()))
            return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
        }
    }

    /// Connects to `host:port`.
    static func connect(host: String, port: Int, timeout: Double) async throws -> MigrationConnection {
        do {
            let ch = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.milliseconds(Int64(timeout * 1000)))
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .connect(host: host, port: port) { configure($0, timeout: timeout) }
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

    func send(_ message: MigrationMessage) async throws {
        var bytes: [UInt8] = []
        MigrationWire.encode(message, into: &bytes)
        try await sendFrames(bytes)
    }

    /// Sends bytes that already hold whole frames.
    func sendFrames(_ bytes: [UInt8]) async throws {
        guard let outbound else { throw MigrationError.connectionLost("the connection is closed") }
        bytesSent += bytes.count
        // NIO says only "I/O on closed channel" when the peer has gone.
        do { try await outbound.write(ByteBuffer(bytes: bytes)) } catch {
            throw MigrationError.connectionLost("sending to \(peer) failed: \(error)")
        }
    }

    /// The next message; throws when the peer closed, went quiet past the timeout, or sent
    /// bytes that are not a valid message.
    func receive() async throws -> MigrationMessage {
        guard var it = inbound else { throw MigrationError.connectionLost("the connection is closed") }
        defer { inbound = it }
        let next: ByteBuffer?
        do { next = try await it.next() } catch let e as MigrationWireError { throw e } catch let e as MigrationError { throw e } catch {
            // A peer that dies with bytes unread resets the connection instead of closing it.
            if let io = error as? IOError, io.errnoCode == ECONNRESET { throw MigrationError.connectionLost("\(peer) reset the connection") }
            throw MigrationError.connectionLost("reading from \(peer) failed: \(error)")
        }
        guard var frame = next else { throw MigrationError.connectionLost("\(peer) closed the connection") }
        bytesReceived += frame.readableBytes + 4
        let body = frame.readBytes(length: frame.readableBytes) ?? []
        return try MigrationWire.decode(body)
    }

    /// The next message, or the other side's abort as `peerAborted`.
    func expect() async throws -> MigrationMessage {
        let m = try await receive()
        if case .abort(let why) = m { throw MigrationError.peerAborted(why) }
        return m
    }
}

/// Splits the byte stream into frame bodies (length checked before anything is buffered).
struct FrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let header = buffer.getBytes(at: buffer.readerIndex, length: min(4, buffer.readableBytes)),
              let length = try MigrationWire.frameLength(header) else { return .needMoreData }
        guard buffer.readableBytes >= 4 + length else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 4)
        context.fireChannelRead(Self.wrapInboundOut(buffer.readSlice(length: length)!))
        return .continue
    }
}

/// Closes the channel when the idle handler says nothing arrived for too long, first
/// passing on an error that says so (a plain close would read as the peer hanging up).
final class CloseWhenIdle: ChannelInboundHandler, Sendable {
    typealias InboundIn = NIOAny
    let seconds: Double
    init(seconds: Double) { self.seconds = seconds }
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is IdleStateHandler.IdleStateEvent else { context.fireUserInboundEventTriggered(event); return }
        let peer = context.channel.remoteAddress.map(MigrationConnection.describe) ?? "the other side"
        context.fireErrorCaught(MigrationError.connectionLost(String(format: "nothing arrived from %@ for %g s", peer, seconds)))
        context.close(promise: nil)
    }
}
