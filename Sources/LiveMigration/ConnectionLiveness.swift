import Dispatch
import Foundation
import MigrationWire
import NIOCore
import Synchronization

/// A migration connection's liveness, in its pipeline: after the `IdleStateHandler`, it closes
/// the connection when nothing at all arrived for `timeout` seconds, keeping the reason for
/// the task that was sending or receiving (which NIO would only tell "I/O on closed channel");
/// it sends the heartbeats; and it keeps what the peer reported of its load (round acks).
final class ConnectionLiveness: ChannelInboundHandler, Sendable {
    typealias InboundIn = NIOAny
    let timeout: Double
    private struct State {
        var reason: MigrationError?
        var heartbeats: RepeatedTask?
        var load = PeerLoad()
        var framesPassedOn = 0
    }
    private let state = Mutex(State())

    init(timeout: Double) { self.timeout = timeout }

    /// Seconds between heartbeats: a quarter of the timeout, at most 1 s.
    var heartbeatInterval: Double { max(0.05, min(1, timeout / 4)) }

    /// Why the connection was closed here, if it was (nil: the peer or the link closed it).
    var reason: MigrationError? { state.withLock { $0.reason } }

    /// What the peer has reported of the rounds it loaded (a source's view of its destination).
    var peerLoad: PeerLoad { state.withLock { $0.load } }

    /// Frames other than heartbeats and round acknowledgements that arrived so far: the
    /// messages the connection's reader gets (`MigrationConnection.messagesReceived` of them
    /// read already).
    var framesPassedOn: Int { state.withLock { $0.framesPassedOn } }

    /// Keeps `why` as the reason the connection failed, unless one is kept already (a TLS
    /// failure, a plain source at a TLS destination: `MigrationTLSPipeline`).
    func noteFailure(_ why: MigrationError) { state.withLock { $0.reason = $0.reason ?? why } }

    func passingOn() { state.withLock { $0.framesPassedOn += 1 } }

    func record(_ ack: PeerLoad.Ack) {
        state.withLock { s in
            s.load.rounds += 1
            s.load.recent.append(ack)
            if s.load.recent.count > 16 { s.load.recent.removeFirst() }
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is IdleStateHandler.IdleStateEvent else { context.fireUserInboundEventTriggered(event); return }
        let peer = context.channel.remoteAddress.map(MigrationConnection.describe) ?? "the other side"
        let why = MigrationError.connectionLost(String(format: "nothing arrived from %@ for %g s", peer, timeout))
        state.withLock { $0.reason = $0.reason ?? why }
        context.fireErrorCaught(why)
        context.close(promise: nil)
    }

    /// Sends a heartbeat every `heartbeatInterval` until the channel closes.
    func startHeartbeats(on channel: Channel) {
        let interval = TimeAmount.nanoseconds(Int64(heartbeatInterval * 1e9))
        let frame = Self.heartbeatFrame
        channel.eventLoop.execute { [self] in
            let task = channel.eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
                channel.writeAndFlush(ByteBuffer(bytes: frame), promise: nil)
            }
            state.withLock { s in
                s.heartbeats?.cancel()
                s.heartbeats = task
            }
            channel.closeFuture.whenComplete { _ in task.cancel() }
        }
    }

    private static let heartbeatFrame: [UInt8] = {
        var out: [UInt8] = []
        MigrationWire.encode(.heartbeat, into: &out)
        return out
    }()
}

/// The destination's round acknowledgements, as the source received them.
struct PeerLoad: Sendable {
    struct Ack: Sendable {
        var round: UInt32
        var pages: UInt64
        /// The destination's time writing the round's pages (its own report).
        var loadNanos: UInt64
        /// When the acknowledgement arrived here (DispatchTime ns).
        var arrivedAt: UInt64
    }
    /// Rounds acknowledged so far.
    var rounds = 0
    /// The last 16 acknowledgements, oldest first.
    var recent: [Ack] = []
}

/// Takes heartbeats and round acknowledgements out of the stream of frames: the first only
/// prove the peer alive (the idle check saw their bytes), the second go to `liveness`.
final class KeepAliveFilter: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    let liveness: ConnectionLiveness
    init(liveness: ConnectionLiveness) { self.liveness = liveness }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        guard let first = frame.getInteger(at: frame.readerIndex, as: UInt8.self) else { return passOn(context, data) }
        if MigrationWire.isHeartbeat(first) && frame.readableBytes == 1 { return }
        guard MigrationWire.isRoundAck(first) else { return passOn(context, data) }
        do {
            guard case .roundAck(let round, let pages, let load) = try MigrationWire.decode(frame.getBytes(at: frame.readerIndex, length: frame.readableBytes) ?? []) else {
                return passOn(context, data)
            }
            liveness.record(PeerLoad.Ack(round: round, pages: pages, loadNanos: load, arrivedAt: DispatchTime.now().uptimeNanoseconds))
        } catch {
            context.fireErrorCaught(error)
        }
    }

    /// A frame for the connection's reader (counted, so a source waiting on acknowledgements
    /// knows an abort or another message is waiting for it).
    private func passOn(_ context: ChannelHandlerContext, _ data: NIOAny) {
        liveness.passingOn()
        context.fireChannelRead(data)
    }
}
