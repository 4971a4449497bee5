import Foundation
import NIOCore
import NIOSSL

/// The server's certificate chain and private key (PEM files), ready for TLS: VeNCrypt on
/// the RFB port, `wss://` on the WebSocket port. Loading checks both files and that the key
/// is the certificate's, so a bad file is one error at startup, never a failed handshake later.
public struct RFBTLSIdentity: Sendable {
    /// For `wss://`: TLS 1.2 and 1.3.
    let context: NIOSSLContext
    /// For VeNCrypt: TLS 1.2 at most. Over TLS 1.3, TigerVNC's viewer (1.12, GnuTLS) hangs
    /// once the handshake is done, never reading the VNC challenge that came in the same
    /// read as BoringSSL's session tickets (which TLS 1.3 sends after the handshake, TLS 1.2
    /// inside it); over TLS 1.2 it connects (seen here with both).
    let vencryptContext: NIOSSLContext

    public init(certificateFile: String, keyFile: String) throws(RFBTLSError) {
        guard FileManager.default.isReadableFile(atPath: certificateFile) else { throw .unreadable(certificateFile) }
        guard FileManager.default.isReadableFile(atPath: keyFile) else { throw .unreadable(keyFile) }
        let chain: [NIOSSLCertificate]
        do { chain = try NIOSSLCertificate.fromPEMFile(certificateFile) } catch { throw .notCertificate(certificateFile) }
        guard !chain.isEmpty else { throw .notCertificate(certificateFile) }
        let key: NIOSSLPrivateKey
        do { key = try NIOSSLPrivateKey(file: keyFile, format: .pem) } catch { throw .notKey(keyFile) }
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        do {
            context = try NIOSSLContext(configuration: configuration)
            configuration.maximumTLSVersion = .tlsv12
            vencryptContext = try NIOSSLContext(configuration: configuration)
        } catch {
            throw .mismatch(certificate: certificateFile, key: keyFile, reason: "\(error)")
        }
    }

    /// The handlers that put TLS under a new connection, first in its pipeline: TLS, then a
    /// filter that takes a peer's close without TLS's close_notify as a plain close.
    func serverHandlers(vencrypt: Bool = false) -> [ChannelHandler] {
        [NIOSSLServerHandler(context: vencrypt ? vencryptContext : context), TLSCloseFilter()]
    }
}

/// Why the certificate or key cannot be used: one line each.
public enum RFBTLSError: Error, CustomStringConvertible {
    case unreadable(String)
    case notCertificate(String)
    case notKey(String)
    case mismatch(certificate: String, key: String, reason: String)

    public var description: String {
        switch self {
        case .unreadable(let p): return "\(p): cannot read it"
        case .notCertificate(let p): return "\(p): holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
        case .notKey(let p): return "\(p): holds no PEM private key (unencrypted, -----BEGIN PRIVATE KEY-----)"
        case .mismatch(let c, let k, let reason): return "\(k) is not the private key of the certificate in \(c) (\(reason))"
        }
    }
}

/// A client that closes its socket without TLS's close_notify (most VNC viewers) has left,
/// as on plain TCP: the channel closes without an error reaching the RFB connection.
final class TLSCloseFilter: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if let e = error as? NIOSSLError, e == .uncleanShutdown {
            context.close(promise: nil)
            return
        }
        context.fireErrorCaught(error)
    }
}
