#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import NIOPosix

/// Accepts one migration connection on `host:port` and runs `body` with it.
enum MigrationListener {
    static func acceptOne<R: Sendable>(host: String, port: Int, timeout: Double, listening: @Sendable (Int) -> Void,
                                       _ body: @escaping @Sendable (MigrationConnection) async throws -> R) async throws -> R {
        let server: NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never>
        do {
            server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                .bind(host: host, port: port) { MigrationConnection.configure($0, timeout: timeout) }
        } catch {
            let address = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
            let why: String
            if let io = error as? IOError { why = String(cString: strerror(io.errnoCode)) }
            else if error is SocketAddressError.UnknownHost { why = "the name \(host) does not resolve" }
            else { why = "\(error)" }
            throw MigrationError.cannotListen("\(address): \(why)")
        }
        listening(server.channel.localAddress?.port ?? port)
        return try await server.executeThenClose { connections in
            for try await ch in connections {
                return try await MigrationConnection(ch).run(body)
            }
            throw MigrationError.connectionLost("the listening socket closed before a source connected")
        }
    }
}
