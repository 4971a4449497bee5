import NIOCore

/// VeNCrypt (security type 19): TLS inside the RFB handshake, as TigerVNC, QEMU and
/// libvncserver speak it (version 0.2). The server sends its version (0.2); the client
/// answers with its own, acknowledged with 0 (or 0xFF and a failure: only 0.2 is spoken);
/// the server lists its subtypes (a count, then each as a u32); the client picks one (u32).
/// For an X509 subtype the server sends 1 and TLS starts on the same socket, the X509
/// certificate from `--vnc-tls-cert`; the subtype's authentication then runs inside it.
/// This file holds the messages' parsers, pure functions over bytes (tests and the fuzzer
/// drive them directly); `RFBServerProtocol` holds the states.
public enum VeNCrypt {
    public static let securityType: UInt8 = 19
    /// The one version spoken (0.2), as the server's first VeNCrypt message.
    public static let version: [UInt8] = [0, 2]
    /// The longest username and password X509Plain takes (each), as TigerVNC's server.
    public static let maxCredentialLength = 255

    /// The subtypes this server can offer: all need the server's certificate. TLSNone and
    /// TLSVnc (257, 258: anonymous Diffie-Hellman) are not offered: BoringSSL, under
    /// swift-nio-ssl, has no anonymous cipher suites.
    public enum Subtype: UInt32, Sendable, CaseIterable {
        /// TLS, then no authentication (offered only without a password file).
        case x509None = 260
        /// TLS, then VNC Authentication (DES challenge) with the password file's password.
        case x509Vnc = 261
        /// TLS, then a username and a password in the clear inside TLS: the password must be the
        /// password file's whole first line; any username is taken (ringside has no user accounts).
        case x509Plain = 262

        public var name: String {
            switch self {
            case .x509None: return "X509None"
            case .x509Vnc: return "X509Vnc"
            case .x509Plain: return "X509Plain"
            }
        }
    }

    /// What is offered, in the order of preference: with a password, X509Vnc then X509Plain
    /// (never X509None); without one, X509None alone.
    public static func subtypes(password: Bool) -> [Subtype] {
        password ? [.x509Vnc, .x509Plain] : [.x509None]
    }

    /// The server's subtype list message: the count, then each subtype as a u32.
    public static func subtypeList(_ offered: [Subtype]) -> [UInt8] {
        var out: [UInt8] = [UInt8(offered.count)]
        for s in offered { appendU32(s.rawValue, to: &out) }
        return out
    }

    /// The client's version (major, minor), or nil until both bytes arrived.
    public static func parseVersion(_ buffer: inout ByteBuffer) -> (major: UInt8, minor: UInt8)? {
        guard buffer.readableBytes >= 2, let major: UInt8 = buffer.readInteger(), let minor: UInt8 = buffer.readInteger() else { return nil }
        return (major, minor)
    }

    /// The client's chosen subtype: one of `offered`, nil until its 4 bytes arrived; anything
    /// else throws (the caller sends the failure).
    public static func parseSubtypeChoice(_ buffer: inout ByteBuffer, offered: [Subtype]) throws(RFBProtocolError) -> Subtype? {
        guard let raw: UInt32 = buffer.readInteger() else { return nil }
        guard let s = Subtype(rawValue: raw), offered.contains(s) else {
            throw .vencrypt("subtype \(raw) was not offered (offered: \(offered.map { "\($0.rawValue) \($0.name)" }.joined(separator: ", ")))")
        }
        return s
    }

    /// X509Plain's credentials: username length (u32), password length (u32), then both;
    /// nil until all arrived. A length past `maxCredentialLength` throws at once, before its
    /// bytes are awaited.
    public static func parsePlain(_ buffer: inout ByteBuffer) throws(RFBProtocolError) -> (user: [UInt8], password: [UInt8])? {
        guard let ulen: UInt32 = buffer.getInteger(at: buffer.readerIndex),
              let plen: UInt32 = buffer.getInteger(at: buffer.readerIndex + 4) else { return nil }
        guard ulen <= maxCredentialLength, plen <= maxCredentialLength else {
            throw .vencrypt("X509Plain username of \(ulen) and password of \(plen) bytes (at most \(maxCredentialLength) each)")
        }
        guard buffer.readableBytes >= 8 + Int(ulen) + Int(plen) else { return nil }
        buffer.moveReaderIndex(forwardBy: 8)
        guard let user = buffer.readBytes(length: Int(ulen)), let password = buffer.readBytes(length: Int(plen)) else { return nil }
        return (user, password)
    }
}
