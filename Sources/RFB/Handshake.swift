import NIOCore

/// The RFB protocol version a client chose.
public enum RFBVersion: String, Sendable {
    case v3_3 = "3.3", v3_7 = "3.7", v3_8 = "3.8"

    /// The server's ProtocolVersion message.
    public static let serverGreeting = Array("RFB 003.008\n".utf8)

    /// Parses a client's 12-byte ProtocolVersion. Minor versions below 7 mean 3.3, above 8
    /// mean 3.8 (RFC 6143 7.1.1; Apple's 3.889 is 3.8).
    public static func parse(_ b: [UInt8]) throws(RFBProtocolError) -> RFBVersion {
        guard b.count == 12, Array(b[0..<4]) == Array("RFB ".utf8), b[7] == UInt8(ascii: "."), b[11] == 0x0A,
              let major = Int(String(decoding: b[4..<7], as: UTF8.self)), b[4..<7].allSatisfy({ (48...57).contains($0) }),
              let minor = Int(String(decoding: b[8..<11], as: UTF8.self)), b[8..<11].allSatisfy({ (48...57).contains($0) })
        else { throw .notRFB(printable(b)) }
        guard major == 3, minor >= 3 else { throw .unsupportedVersion("\(major).\(minor)") }
        return minor < 7 ? .v3_3 : minor == 7 ? .v3_7 : .v3_8
    }
}

/// The server side of the handshake (version, security, ClientInit) and then the client's
/// messages, as a pure state machine over bytes: feed it what arrived, send what it
/// appends to `output`. No sockets here, so tests and the fuzzer drive it directly.
public struct RFBServerProtocol: Sendable {
    public enum Event: Equatable, Sendable {
        /// ClientInit arrived: send ServerInit now. `shared` is the client's flag.
        case initialized(version: RFBVersion, shared: Bool)
        case message(ClientMessage)
        /// The client chose a VeNCrypt X509 subtype and was told to start TLS (the 1 in
        /// `output`): put TLS under the connection now, then call `tlsStarted`.
        case startTLS(VeNCrypt.Subtype)
    }

    enum State: Sendable {
        case version, securityChoice(RFBVersion), authResponse(RFBVersion), clientInit(RFBVersion), normal
        // VeNCrypt's steps (see VeNCrypt.swift and Handshake+VeNCrypt.swift).
        case vencryptVersion(RFBVersion), vencryptSubtype(RFBVersion), tlsStarting(RFBVersion, VeNCrypt.Subtype)
        case plainCredentials(RFBVersion)
    }

    var state: State = .version
    private var parser = ClientMessageParser()
    let password: [UInt8]?
    let challenge: [UInt8]
    /// Whether VeNCrypt (type 19) is the one security type offered.
    let vencrypt: Bool

    /// `password`: VNC Authentication with it (only its first 8 bytes count), or nil for
    /// security None. `challenge`: 16 random bytes (tests fix them). `vencrypt`: offer only
    /// VeNCrypt (type 19) with the X509 subtypes for `password` (the caller owns the TLS).
    public init(password: [UInt8]?, challenge: [UInt8], vencrypt: Bool = false) {
        precondition(challenge.count == 16, "a VNC challenge is 16 bytes")
        self.password = password
        self.challenge = challenge
        self.vencrypt = vencrypt
    }

    /// The security type this server offers: 19 (VeNCrypt) with TLS, else 2 (VNC
    /// Authentication) with a password, else 1 (None).
    public var securityType: UInt8 { vencrypt ? VeNCrypt.securityType : password == nil ? 1 : 2 }

    /// Set by the server while the handshake runs: why this connection is turned away (too
    /// many clients, an address blocked after failed authentications). The client is told
    /// once its version is known, before any security type is offered (no types and the
    /// reason, as RFC 6143 7.1.2 has it), or, if it comes while a VNC Authentication
    /// response is awaited, as a failed SecurityResult, its response left unchecked.
    public var refusal: String?

    /// Whether the handshake is over.
    public var isNormal: Bool { if case .normal = state { return true }; return false }

    /// Handles what `buffer` holds and returns the next event, or nil when more bytes are
    /// needed; appends replies to `output`. Throws when the client must be dropped (after
    /// appending any reply it should still get, such as a failed SecurityResult).
    public mutating func next(_ buffer: inout ByteBuffer, output: inout [UInt8]) throws(RFBProtocolError) -> Event? {
        while true {
            switch state {
            case .version:
                // Another protocol's greeting (SSH, HTTP) is refused as soon as it differs.
                let head = buffer.getBytes(at: buffer.readerIndex, length: min(12, buffer.readableBytes)) ?? []
                if Array(head.prefix(4)) != Array("RFB ".utf8.prefix(min(4, head.count))) { throw .notRFB(printable(head)) }
                guard let b = buffer.readBytes(length: 12) else { return nil }
                let v = try RFBVersion.parse(b)
                if let refusal {
                    // 3.3: security type 0 then the reason; 3.7 and 3.8: no types then the reason.
                    if v == .v3_3 { appendU32(0, to: &output) } else { output.append(0) }
                    appendString(refusal, to: &output)
                    throw .refused(refusal)
                }
                if vencrypt && v == .v3_3 { try refuseRFB33(output: &output) }
                if v == .v3_3 {
                    appendU32(UInt32(securityType), to: &output)
                    state = password == nil ? .clientInit(v) : .authResponse(v)
                    if password != nil { output += challenge }
                } else {
                    output += [1, securityType]
                    state = .securityChoice(v)
                }
            case .securityChoice(let v):
                guard let t: UInt8 = buffer.readInteger() else { return nil }
                try chose(t, version: v, output: &output)
            case .authResponse(let v):
                guard let response = buffer.readBytes(length: 16) else { return nil }
                try refuseIfBlocked(v, output: &output)
                guard let password, let expected = VNCAuthentication.response(challenge: challenge, password: password),
                      constantTimeEqual(expected, response) else {
                    if v == .v3_8 { appendFailure("wrong password", to: &output) } else { appendU32(1, to: &output) }
                    throw .authenticationFailed
                }
                appendU32(0, to: &output)
                state = .clientInit(v)
            case .clientInit(let v):
                guard let shared: UInt8 = buffer.readInteger() else { return nil }
                state = .normal
                return .initialized(version: v, shared: shared != 0)
            case .normal:
                guard let m = try parser.next(&buffer) else { return nil }
                return .message(m)
            case .vencryptVersion, .vencryptSubtype, .tlsStarting, .plainCredentials:
                switch try vencryptStep(&buffer, output: &output) {
                case .needMore: return nil
                case .advanced: break
                case .event(let e): return e
                }
            }
        }
    }

    /// The client chose security type `t`: the offered one's first step, or a refusal.
    private mutating func chose(_ t: UInt8, version v: RFBVersion, output: inout [UInt8]) throws(RFBProtocolError) {
        guard t == securityType else {
            if v == .v3_8 { appendFailure("security type \(t) was not offered", to: &output) }
            throw .badSecurityType(t)
        }
        if vencrypt {
            output += VeNCrypt.version
            state = .vencryptVersion(v)
        } else if password != nil {
            output += challenge
            state = .authResponse(v)
        } else {
            if v == .v3_8 { appendU32(0, to: &output) } // SecurityResult OK (3.7 has none for None)
            state = .clientInit(v)
        }
    }

    /// A failed SecurityResult: 1, then the reason (3.8), or 1 alone (3.7 and 3.3).
    func appendFailure(_ reason: String, version v: RFBVersion, to out: inout [UInt8]) {
        if v == .v3_8 { appendFailure(reason, to: &out) } else { appendU32(1, to: &out) }
    }

    /// The refusal set by the server (a blocked address), as a failed SecurityResult instead
    /// of checking what the client sent.
    func refuseIfBlocked(_ v: RFBVersion, output: inout [UInt8]) throws(RFBProtocolError) {
        guard let refusal else { return }
        appendFailure(refusal, version: v, to: &output)
        throw .refused(refusal)
    }

    private func appendFailure(_ reason: String, to out: inout [UInt8]) {
        appendU32(1, to: &out)
        appendString(reason, to: &out)
    }

    /// A reason string: its length (u32), then its bytes.
    func appendString(_ s: String, to out: inout [UInt8]) {
        let r = Array(s.utf8)
        appendU32(UInt32(r.count), to: &out)
        out += r
    }

    func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var d: UInt8 = 0
        for i in 0..<a.count { d |= a[i] ^ b[i] }
        return d == 0
    }
}

/// Bytes as a quoted string, anything unprintable as '?'.
func printable(_ b: [UInt8]) -> String {
    "'" + String(decoding: b.map { (0x20..<0x7F).contains($0) ? $0 : UInt8(ascii: "?") }, as: UTF8.self) + "'"
}

@inline(__always)
func appendU32(_ v: UInt32, to out: inout [UInt8]) {
    out += [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)]
}

@inline(__always)
func appendU16(_ v: UInt16, to out: inout [UInt8]) {
    out += [UInt8(v >> 8), UInt8(v & 0xFF)]
}

@inline(__always)
func appendI32(_ v: Int32, to out: inout [UInt8]) { appendU32(UInt32(bitPattern: v), to: &out) }

/// ServerInit (RFC 6143 7.3.2): geometry, the guest's pixel format, the desktop name.
public func serverInit(width: Int, height: Int, name: String) -> [UInt8] {
    var out: [UInt8] = []
    appendU16(UInt16(clamping: width), to: &out)
    appendU16(UInt16(clamping: height), to: &out)
    out += PixelFormat.guestNative.bytes
    let n = Array(name.utf8.prefix(4096))
    appendU32(UInt32(n.count), to: &out)
    out += n
    return out
}
