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
    /// abort and a refusal if the versions differ. Heartbeats start once they agree.
    static func hello(_ c: MigrationConnection, from peer: String) async throws {
        guard case .hello(let v, _) = try await c.expect() else { throw MigrationError.protocolError("the \(peer) did not say hello first") }
        // It reads compressed page batches; a source that does not ask for them never sends one.
        try await c.send(.hello(version: MigrationWire.version, capabilities: MigrationWire.knownCapabilities))
        guard v == MigrationWire.version else {
            let why = "the \(peer) speaks protocol version \(v), this destination \(MigrationWire.version): run the same Ringside on both sides"
            try? await c.send(.abort(why))
            throw MigrationError.refused(why)
        }
        c.startHeartbeats()
    }
}
