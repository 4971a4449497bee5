import MigrationWire
import NIOCore
import NIOSSL
import NIOTLS

/// The TLS part of a migration channel's pipeline: BoringSSL's errors in words, and the
/// destination's answer to a source that speaks no TLS.
enum MigrationTLSPipeline {
    /// Adds TLS in front of everything else (closest to the socket). `host` is the name the
    /// source connected to (checked against the destination's certificate).
    static func add(to ops: ChannelPipeline.SynchronousOperations, context: NIOSSLContext, role: MigrationTLS.Role,
                    host: String?, liveness: ConnectionLiveness, handshake: EventLoopPromise<Void>) throws {
        switch role {
        case .destination:
            try ops.addHandler(PlaintextSourceGuard(liveness: liveness))
            try ops.addHandler(NIOSSLServerHandler(context: context))
        case .source:
            // A name is sent (SNI) and checked; an IP address is checked against the certificate's IP entries.
            let name = host.flatMap { isIPAddress($0) ? nil : $0 }
            try ops.addHandler(NIOSSLClientHandler(context: context, serverHostname: name))
        }
        try ops.addHandler(TLSFailureWatch(liveness: liveness, role: role, handshake: handshake))
    }

    static func isIPAddress(_ host: String) -> Bool {
        host.contains(":") || host.allSatisfy { $0 == "." || $0.isASCII && $0.isNumber }
    }

    /// What a TLS failure means for the user, from BoringSSL's reason codes. `peer` is
    /// "the destination at HOST:PORT" or "the source at HOST:PORT".
    static func explain(_ error: Error, peer: String) -> String? {
        guard error is NIOSSLError || error is BoringSSLError || error is NIOSSLExtraError else { return nil }
        let text = "\(error)".uppercased()
        let both = "--migrate-tls-cert, --migrate-tls-key and --migrate-tls-ca"
        func has(_ codes: String...) -> Bool { codes.contains { text.contains($0) } }
        if has("CERTIFICATE_VERIFY_FAILED", "FAILEDTOVALIDATEHOSTNAME", "COULDN'T FIND") {
            return "\(peer) presented a certificate this side does not accept: it is not signed by the --migrate-tls-ca here, has expired, or does not name the address used"
        }
        if has("CERTIFICATE_REQUIRED", "PEER_DID_NOT_RETURN_A_CERTIFICATE") {
            return "the source presented no certificate, and the destination requires one: give the source --migrate-tls-cert and --migrate-tls-key"
        }
        if has("ALERT_UNKNOWN_CA", "ALERT_BAD_CERTIFICATE", "ALERT_CERTIFICATE_UNKNOWN", "ALERT_UNSUPPORTED_CERTIFICATE", "ALERT_CERTIFICATE_EXPIRED") {
            return "\(peer) refused this side's certificate: it is not signed by the CA the other side trusts (its --migrate-tls-ca)"
        }
        if has("WRONG_VERSION_NUMBER", "HTTP_REQUEST", "UNKNOWN_PROTOCOL", "PACKET_LENGTH_TOO_LONG", "RECORD_TOO_LARGE", "WRONG_SSL_VERSION", "UNEXPECTED_RECORD") {
            return "\(peer) does not speak TLS: give both sides \(both)"
        }
        if has("BAD_DECRYPT", "BAD_RECORD_MAC", "DIGEST_CHECK_FAILED") {
            return "the TLS records from \(peer) do not decrypt under this connection's keys: a recorded or altered stream, refused"
        }
        if has("UNCLEANSHUTDOWN", "UNCLEAN_SHUTDOWN") {
            return "\(peer) closed the connection without ending its TLS session (did it fail, or does it run without \(both)?)"
        }
        return "the TLS session with \(peer) failed: \(reasons(text) ?? "\(error)")"
    }

    /// BoringSSL's reason codes in an error's text (`...:OPENSSL_internal:BAD_DECRYPT at ...`),
    /// lowercased and joined: its full text is a dump of structs and file names.
    static func reasons(_ text: String) -> String? {
        let codes = text.components(separatedBy: "OPENSSL_INTERNAL:").dropFirst()
            .map { $0.prefix { $0.isLetter || $0.isNumber || $0 == "_" }.lowercased().replacingOccurrences(of: "_", with: " ") }
        return codes.isEmpty ? nil : codes.joined(separator: ", ")
    }
}

/// After the TLS handler: keeps a TLS failure, in words, as the connection's reason (the task
/// reading or writing would otherwise see only a closed channel), and completes `handshake`
/// when the handshake has (or fails it). A promise completed twice keeps its first result.
final class TLSFailureWatch: ChannelInboundHandler, Sendable {
    typealias InboundIn = NIOAny
    let liveness: ConnectionLiveness
    let role: MigrationTLS.Role
    let handshake: EventLoopPromise<Void>
    init(liveness: ConnectionLiveness, role: MigrationTLS.Role, handshake: EventLoopPromise<Void>) {
        self.liveness = liveness
        self.role = role
        self.handshake = handshake
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted? = event as? TLSUserEvent { handshake.succeed(()) }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        let address = context.channel.remoteAddress.map(MigrationConnection.describe) ?? "the other side"
        let peer = role == .source ? "the destination at \(address)" : "the source at \(address)"
        if let why = MigrationTLSPipeline.explain(error, peer: peer) { liveness.noteFailure(.tls(why)) }
        handshake.fail(liveness.reason ?? error)
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        handshake.fail(liveness.reason ?? MigrationError.connectionLost("the connection closed before TLS was established"))
        context.fireChannelInactive()
    }

    /// The pipeline is torn down, also for a channel that never became active (a failed
    /// connect): the promise must not be dropped unfulfilled.
    func handlerRemoved(context: ChannelHandlerContext) {
        handshake.fail(liveness.reason ?? MigrationError.connectionLost("the connection closed before TLS was established"))
    }
}

/// Before the TLS handler of a destination: a source whose first byte is not a TLS handshake
/// record (22) speaks the plain protocol, so it is told why in a plain `abort`, and this side
/// says it too, instead of a TLS error the plain source could not read.
final class PlaintextSourceGuard: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    let liveness: ConnectionLiveness
    /// Set once the source was told: what it sends after that is dropped.
    private var refused = false
    init(liveness: ConnectionLiveness) { self.liveness = liveness }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !refused else { return }
        let bytes = unwrapInboundIn(data)
        guard let first = bytes.getInteger(at: bytes.readerIndex, as: UInt8.self), first != 22 else {
            context.fireChannelRead(data)
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
            return
        }
        let address = context.channel.remoteAddress.map(MigrationConnection.describe) ?? "the other side"
        let why = MigrationError.tls("the source at \(address) does not use TLS, and this destination requires it: give the source --migrate-tls-cert, --migrate-tls-key and --migrate-tls-ca")
        refused = true
        liveness.noteFailure(why)
        var frame: [UInt8] = []
        MigrationWire.encode(.abort("this destination requires TLS: give the source --migrate-tls-cert, --migrate-tls-key and --migrate-tls-ca"), into: &frame)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: frame))).whenComplete { _ in channel.close(promise: nil) }
        context.fireErrorCaught(why)
    }
}
