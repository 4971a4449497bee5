import MigrationWire

/// The destination's side of a connection after the first: a source whose connection failed
/// after its commit asks (`outcome-query`) whether the guest runs here, and hears the
/// `DestinationHandOver`'s answer; anyone else is told, in an abort, that this destination
/// is busy. The answer stands until the source says `done` (or closes), so it is not lost to
/// a close while it is still being sent.
enum OutcomeAnswer {
    /// Answers one connection; never throws (a connection that fails is simply over).
    static func serve(_ connection: MigrationConnection, handOver: DestinationHandOver) async {
        _ = try? await connection.run { c in
            try await hello(c, from: "source")
            let m = try await c.expect()
            guard case .outcomeQuery(let id) = m else {
                try? await c.send(.abort("this destination is busy with another migration"))
                return
            }
            let started: Bool, resume: UInt64
            switch handOver.answer(migration: id) {
            case .unknownMigration:
                try? await c.send(.abort("this destination has no migration \(id)"))
                return
            case .notStarted: (started, resume) = (false, 0)
            case .started(let r): (started, resume) = (true, r)
            }
            try await c.send(.outcome(started: started, resumeNanos: resume))
            if case .done? = try? await c.receive(), started { handOver.sourceGotItsAnswer() }
        }
    }

    /// The first messages of any connection at the destination: the peer's hello, then ours
    /// (before the version check, so an older peer hears which version this is), then an
    /// abort and a refusal if the versions differ. Heartbeats start once they agree. A source
    /// that asks to bind a nonce gets a new one (`challenge`) and must send it back before
    /// anything else: a recorded stream carries another destination's nonce and is refused.
    static func hello(_ c: MigrationConnection, from peer: String) async throws {
        guard case .hello(let v, let caps) = try await c.expect() else { throw MigrationError.protocolError("the \(peer) did not say hello first") }
        // It reads compressed page batches; a source that does not ask for them never sends one.
        try await c.send(.hello(version: MigrationWire.version, capabilities: MigrationWire.knownCapabilities))
        guard v == MigrationWire.version else {
            let why = "the \(peer) speaks protocol version \(v), this destination \(MigrationWire.version): run the same Ringside on both sides"
            try? await c.send(.abort(why))
            throw MigrationError.refused(why)
        }
        c.startHeartbeats()
        guard caps & MigrationWire.capabilityBindsNonce != 0 else { return }
        try await bindNonce(c, from: peer)
    }

    /// `challenge` with a fresh nonce; the `binding` must carry it.
    private static func bindNonce(_ c: MigrationConnection, from peer: String) async throws {
        var rng = SystemRandomNumberGenerator()
        let nonce = (0..<MigrationWire.nonceBytes).map { _ in UInt8.random(in: 0...255, using: &rng) }
        try await c.send(.challenge(nonce: nonce))
        let m = try await c.expect()
        guard case .binding(let echoed) = m else {
            let why = "the \(peer) asked to bind this destination's nonce and sent \(m.name) instead"
            try? await c.send(.abort(why))
            throw MigrationError.protocolError(why)
        }
        guard echoed == nonce else {
            let why = "the stream from \(c.peer) is bound to another destination's nonce: a recorded migration replayed here; nothing was started"
            try? await c.send(.abort(why))
            throw MigrationError.replayed(why)
        }
    }
}
