import NIOCore

/// VeNCrypt's handshake steps (see VeNCrypt.swift for the messages).
extension RFBServerProtocol {
    enum Step {
        case needMore, advanced, event(Event)
    }

    /// The subtypes this handshake offers.
    var vencryptSubtypes: [VeNCrypt.Subtype] { VeNCrypt.subtypes(password: password != nil) }

    /// One VeNCrypt step: the client's version, its subtype, the wait for TLS, X509Plain's credentials.
    mutating func vencryptStep(_ buffer: inout ByteBuffer, output: inout [UInt8]) throws(RFBProtocolError) -> Step {
        switch state {
        case .vencryptVersion(let v):
            guard let (major, minor) = VeNCrypt.parseVersion(&buffer) else { return .needMore }
            guard major == 0, minor == 2 else {
                // 0xFF says "not this version"; the failure and its reason follow, as TigerVNC sends them.
                let why = "the client speaks VeNCrypt \(major).\(minor); this server speaks only 0.2"
                output.append(0xFF)
                appendFailure(why, version: v, to: &output)
                throw .vencrypt(why)
            }
            output.append(0)
            output += VeNCrypt.subtypeList(vencryptSubtypes)
            state = .vencryptSubtype(v)
            return .advanced
        case .vencryptSubtype(let v):
            let chosen: VeNCrypt.Subtype?
            do { chosen = try VeNCrypt.parseSubtypeChoice(&buffer, offered: vencryptSubtypes) } catch {
                appendFailure(error.description, version: v, to: &output)
                throw error
            }
            guard let chosen else { return .needMore }
            output.append(1) // start TLS
            state = .tlsStarting(v, chosen)
            return .event(.startTLS(chosen))
        case .tlsStarting:
            // Nothing may come before TLS does: bytes here were sent in the clear after the choice.
            guard buffer.readableBytes == 0 else { throw .vencrypt("the client sent \(buffer.readableBytes) bytes in the clear where TLS should start") }
            return .needMore
        case .plainCredentials(let v):
            return try plainStep(v, &buffer, output: &output)
        default:
            return .needMore
        }
    }

    /// TLS is now under the connection (the caller put it there once the `startTLS` event's
    /// output went out): the subtype's authentication starts. `leftover`: bytes the client
    /// sent after its choice, in the clear, which drop it.
    public mutating func tlsStarted(leftover: Int, output: inout [UInt8]) throws(RFBProtocolError) {
        guard case .tlsStarting(let v, let subtype) = state else { return }
        guard leftover == 0 else { throw .vencrypt("the client sent \(leftover) bytes in the clear where TLS should start") }
        switch subtype {
        case .x509None:
            appendU32(0, to: &output) // SecurityResult OK (VeNCrypt always sends one)
            state = .clientInit(v)
        case .x509Vnc:
            output += challenge
            state = .authResponse(v)
        case .x509Plain:
            state = .plainCredentials(v)
        }
    }

    /// X509Plain: the username and password, inside TLS. The password must be the password
    /// file's whole line (not only 8 bytes); any username is taken (there are no user accounts).
    private mutating func plainStep(_ v: RFBVersion, _ buffer: inout ByteBuffer, output: inout [UInt8]) throws(RFBProtocolError) -> Step {
        let credentials: (user: [UInt8], password: [UInt8])?
        do { credentials = try VeNCrypt.parsePlain(&buffer) } catch {
            appendFailure(error.description, version: v, to: &output)
            throw error
        }
        guard let credentials else { return .needMore }
        try refuseIfBlocked(v, output: &output)
        guard let password, constantTimeEqual(password, credentials.password) else {
            appendFailure("wrong password", version: v, to: &output)
            throw .authenticationFailed
        }
        appendU32(0, to: &output)
        state = .clientInit(v)
        return .advanced
    }

    /// RFB 3.3 lets the server pick the type, and no 3.3 client can take VeNCrypt: it is told
    /// why (type 0 and the reason) and dropped.
    func refuseRFB33(output: inout [UInt8]) throws(RFBProtocolError) {
        let why = "this server offers only VeNCrypt (TLS), which needs RFB 3.7 or 3.8; the client asked for 3.3"
        appendU32(0, to: &output)
        appendString(why, to: &output)
        throw .refused(why)
    }
}
