#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import NIOPosix

/// The destination's listening socket: the source's connection first, then any connection on
/// which a source asks what became of its guest. Bound before `serve`, so the caller can say
/// where it listens; open until `serve`'s body ends or `close()`.
struct MigrationListener: Sendable {
    private let server: NIOAsyncChannel<MigrationConnection.ConfiguredChannel, Never>
    /// The port it listens on (the one chosen, for port 0).
    let port: Int

    /// Binds `host:port`; with `tls`, every connection is TLS (its files read first: a wrong
    /// one is `MigrationError.tls` before the socket is bound).
    static func bind(host: String, port: Int, timeout: Double, tls: MigrationTLS? = nil) async throws -> MigrationListener {
        let context = try tls.map { try $0.context(for: .destination) }
        do {
            let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                .bind(host: host, port: port) { MigrationConnection.configure($0, timeout: timeout, tls: context.map { ($0, .destination) }) }
            return MigrationListener(server: server, port: server.channel.localAddress?.port ?? port)
        } catch {
            let address = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
            let why: String
            if let io = error as? IOError { why = String(cString: strerror(io.errnoCode)) }
            else if error is SocketAddressError.UnknownHost { why = "the name \(host) does not resolve" }
            else { why = "\(error)" }
            throw MigrationError.cannotListen("\(address): \(why)")
        }
    }

    /// Runs `body` with the connections as they are accepted; closes the socket after.
    func serve<R: Sendable>(_ body: (inout Connections) async throws -> R) async throws -> R {
        try await server.executeThenClose { inbound in
            var connections = Connections(iterator: inbound.makeAsyncIterator())
            return try await body(&connections)
        }
    }

    /// Stops accepting (from any task): `Connections.next()` then returns nil.
    func close() { server.channel.close(promise: nil) }

    /// The accepted connections, for the one task that runs `serve`'s body.
    struct Connections {
        var iterator: NIOAsyncChannelInboundStream<MigrationConnection.ConfiguredChannel>.AsyncIterator
        /// The next connection, or nil once the socket is closed.
        mutating func next() async -> MigrationConnection.ConfiguredChannel? { try? await iterator.next() }
    }
}
