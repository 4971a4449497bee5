import Dispatch
import MigrationWire

extension SourceAttempt {
    /// Seconds the source keeps asking after a connection lost at the commit: the destination
    /// may need its own timeout to notice the loss before it answers.
    var askingSeconds: Double { 3 * options.timeout }

    /// The connection failed after the commit was sent (or while it was): the guest stays
    /// paused here while the destination is asked, on new connections, what became of it.
    /// Returns how long after the commit its vCPUs started, if they did; throws `commitLost`
    /// if the destination did not start it (it then never will, and the guest resumes here),
    /// or `outcomeUnknown` when no answer came in `askingSeconds` (the guest stays stopped).
    func askWhatBecameOfTheGuest(after lost: Error) async throws -> UInt64 {
        progress("migration: the connection failed at the commit (\(lost)); asking \(address) what became of the guest")
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(askingSeconds * 1e9)
        var last = lost
        while DispatchTime.now().uptimeNanoseconds < deadline && !machine.isFinished {
            let left = Double(deadline - DispatchTime.now().uptimeNanoseconds) / 1e9
            do {
                let c = try await MigrationConnection.connect(host: peer.host, port: peer.port, timeout: min(options.timeout, max(left, 0.1)),
                                                                tls: options.tls)
                let (started, resume) = try await c.run { c in try await Self.ask(c, migration: peer.migrationID) }
                if started { return resume }
                throw MigrationError.commitLost("\(lost)")
            } catch let e as MigrationError where e.isCommitLost {
                throw e
            } catch {
                last = error
                try? await Task.sleep(nanoseconds: 250_000_000)
            }
        }
        machine.stop()
        throw MigrationError.outcomeUnknown(String(format: "the connection failed after the source committed (%@), and asking again for %g s brought no answer (%@); "
            + "the guest is stopped here and may be running at the destination", "\(lost)", askingSeconds, "\(last)"))
    }

    /// One question on a new connection: hello, the migration's id, the answer, then `done`.
    private static func ask(_ c: MigrationConnection, migration id: UInt64) async throws -> (Bool, UInt64) {
        try await MigrationSource.hello(c)
        try await c.send(.outcomeQuery(migration: id))
        guard case .outcome(let started, let resume) = try await c.expect() else {
            throw MigrationError.protocolError("the destination did not answer what became of the guest")
        }
        try? await c.send(.done)
        return (started, resume)
    }

    /// `HOST:PORT` of the destination.
    var address: String { peer.host.contains(":") ? "[\(peer.host)]:\(peer.port)" : "\(peer.host):\(peer.port)" }
}

extension MigrationError {
    var isCommitLost: Bool { if case .commitLost = self { return true }; return false }
}
