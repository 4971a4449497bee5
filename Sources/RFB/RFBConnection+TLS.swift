import NIOCore

/// VeNCrypt: TLS put under a connection in the middle of its handshake.
extension RFBConnection {
    /// The client chose an X509 subtype and its "start TLS" byte has gone out in the clear
    /// (written before this, so it passed no TLS handler): TLS goes first in the pipeline, so
    /// every byte after it, both ways, is TLS; then the subtype's authentication begins (its
    /// first bytes wait in the TLS handler until the TLS handshake is done).
    func startTLS(_ subtype: VeNCrypt.Subtype) {
        guard let tls = server.options.tls else { return drop("VeNCrypt chosen but no TLS certificate is loaded") }
        do {
            for h in tls.serverHandlers(vencrypt: true).reversed() { try channel.pipeline.syncOperations.addHandler(h, position: .first) }
            var out: [UInt8] = []
            try proto.tlsStarted(leftover: inbound?.readableBytes ?? 0, output: &out)
            if !out.isEmpty { send(out) }
        } catch {
            return drop("cannot start TLS: \(error)")
        }
        server.log("VNC client \(peer) chose VeNCrypt \(subtype.name): TLS starts")
    }
}
