#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import NIOPosix
import Synchronization

/// `ringside run --control PATH` (and `receive`): a Unix socket, owner-only, that answers
/// one JSON line per request line (docs/control.md). Requests go to the target on NIO's
/// thread pool, one at a time (a snapshot may take a second; `status` is answered meanwhile),
/// so nothing a client sends blocks an event loop or reaches the guest unchecked. Peers of
/// another user are refused even in the instant before the socket's mode is set.
public final class ControlServer: Sendable {
    public let path: String
    private let channel: NIOAsyncChannel<NIOAsyncChannel<ControlLine, ByteBuffer>, Never>
    private let identity: (dev: UInt64, ino: UInt64)
    private let target = Mutex<(any ControlTarget)?>(nil)
    private let waiting: Mutex<String>
    /// `quit` before a guest is attached (a `receive` still waiting), after its answer is sent.
    private let quitWhileWaiting: (@Sendable () -> Void)?
    /// Held while a request other than `status` is carried out.
    private let serial = Mutex<Void>(())
    private let accepting = Mutex<Task<Void, Never>?>(nil)

    /// Binds `path` (see `ControlSocketPath.prepare` for what is refused there) and starts
    /// accepting. Until `attach(_:)`, `status` answers with state "waiting" and `waiting`, and
    /// `quit` calls `quitWhileWaiting` once it has answered (refused without one).
    public static func start(path: String, waiting: String = "starting",
                             quitWhileWaiting: (@Sendable () -> Void)? = nil) throws -> ControlServer {
        try ControlSocketPath.prepare(path)
        let channel: NIOAsyncChannel<NIOAsyncChannel<ControlLine, ByteBuffer>, Never>
        do {
            channel = try MultiThreadedEventLoopGroup.singleton.any().makeFutureWithTask {
                try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                    .childChannelOption(.allowRemoteHalfClosure, value: true) // a client that shuts its side down still gets its answers
                    .bind(unixDomainSocketPath: path) { child in
                        child.eventLoop.makeCompletedFuture {
                            try child.pipeline.syncOperations.addHandler(ByteToMessageHandler(ControlLineDecoder(limit: ControlWords.maxLineBytes)))
                            return try NIOAsyncChannel<ControlLine, ByteBuffer>(wrappingChannelSynchronously: child)
                        }
                    }
            }.wait()
        } catch let e as IOError {
            throw ControlError("--control \(path): cannot listen there: \(String(cString: strerror(e.errnoCode)))")
        }
        let identity: (dev: UInt64, ino: UInt64)
        do { identity = try ControlSocketPath.restrict(path) } catch {
            channel.channel.close(promise: nil)
            throw error
        }
        let server = ControlServer(path: path, channel: channel, identity: identity, waiting: waiting, quitWhileWaiting: quitWhileWaiting)
        server.accept()
        return server
    }

    private init(path: String, channel: NIOAsyncChannel<NIOAsyncChannel<ControlLine, ByteBuffer>, Never>,
                 identity: (dev: UInt64, ino: UInt64), waiting: String, quitWhileWaiting: (@Sendable () -> Void)?) {
        self.path = path
        self.channel = channel
        self.identity = identity
        self.waiting = Mutex(waiting)
        self.quitWhileWaiting = quitWhileWaiting
    }

    /// What `status` says until a target is attached (a `receive` learns its port once listening).
    public func setWaiting(_ line: String) { waiting.withLock { $0 = line } }

    /// From now on requests go to `target`.
    public func attach(_ target: any ControlTarget) { self.target.withLock { $0 = target } }

    /// Stops accepting, ends the connections and removes the socket (if it is still ours).
    public func stop() {
        channel.channel.close(promise: nil)
        accepting.withLock { $0 }?.cancel()
        ControlSocketPath.remove(path, identity: identity)
    }

    private func accept() {
        let task = Task { [self] in
            _ = try? await channel.executeThenClose { inbound in
                try await withThrowingDiscardingTaskGroup { group in
                    for try await connection in inbound {
                        group.addTask { await self.serve(connection) }
                    }
                }
            }
        }
        accepting.withLock { $0 = task }
    }

    /// One connection: a line in, an answer out, until the client closes.
    private func serve(_ connection: NIOAsyncChannel<ControlLine, ByteBuffer>) async {
        guard await Self.peerIsAllowed(connection.channel) else {
            try? await connection.channel.close()
            return
        }
        try? await connection.executeThenClose { inbound, outbound in
            for try await item in inbound {
                let answer: ControlAnswer, after: (@Sendable () -> Void)?
                switch item {
                case .tooLong(let n):
                    try await outbound.write(ByteBuffer(string: ControlAnswer.failure(nil, "\(ControlRequestError.tooLong(n))").line + "\n"))
                    return
                case .line(let bytes):
                    (answer, after) = await respond(to: bytes)
                }
                try await outbound.write(ByteBuffer(string: answer.line + "\n"))
                if let after {
                    // The writer's write returns once queued; an empty write behind it completes
                    // only when the answer is on the socket, so what follows (quit may end the
                    // process) cannot overtake it.
                    try? await connection.channel.writeAndFlush(ByteBuffer()).get()
                    after()
                }
            }
        }
    }

    /// Parses and carries out one request line, on the thread pool; the answer, and what to
    /// do once it is sent.
    func respond(to line: [UInt8]) async -> (ControlAnswer, (@Sendable () -> Void)?) {
        let request: ControlRequest
        do { request = try ControlRequest.parse(line: line) } catch { return (.failure(nil, error.description), nil) }
        let current = target.withLock { $0 }
        guard let current else { return (answerWhileWaiting(request), request == .quit ? quitWhileWaiting : nil) }
        let answer = await carryOut(request, current)
        return (answer, { current.answered(request, answer) })
    }

    private func answerWhileWaiting(_ request: ControlRequest) -> ControlAnswer {
        switch request {
        case .status:
            var a = ControlAnswer(ok: true, command: "status")
            a.status = StatusAnswer(state: "waiting")
            a.status?.waiting = waiting.withLock { $0 }
            return a
        case .quit where quitWhileWaiting != nil:
            return ControlAnswer(ok: true, command: "quit")
        default:
            return .failure(request.command, "no guest yet: \(waiting.withLock { $0 })")
        }
    }

    private func carryOut(_ request: ControlRequest, _ current: any ControlTarget) async -> ControlAnswer {
        let body: @Sendable () -> ControlAnswer = { [self] in
            request == .status ? current.answer(request) : serial.withLock { _ in current.answer(request) }
        }
        do { return try await NIOThreadPool.singleton.runIfActive(body) } catch {
            return .failure(request.command, "the control socket is shutting down")
        }
    }

    /// `struct ucred` (pid, uid, gid), which Swift's Glibc does not import (it needs _GNU_SOURCE).
    private struct PeerCredentials: Sendable {
        var pid: Int32 = 0
        var uid: UInt32 = 0
        var gid: UInt32 = 0
    }

    /// Only this user (or root) may talk to the guest: SO_PEERCRED's uid.
    private static func peerIsAllowed(_ channel: any Channel) async -> Bool {
        guard let provider = channel as? any SocketOptionProvider else { return false }
        // SAFETY: SO_PEERCRED fills a struct ucred, three 32-bit fields: PeerCredentials has the same layout.
        guard let cred: PeerCredentials = try? await provider.unsafeGetSocketOption(level: SocketOptionLevel(SOL_SOCKET), name: SocketOptionName(SO_PEERCRED)).get() else {
            return false
        }
        return cred.uid == geteuid() || cred.uid == 0
    }
}
