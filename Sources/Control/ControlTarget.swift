import GuestSession
import LiveMigration

/// What the control server asks: one request in, one answer out. Called on a thread that
/// may block (the server's thread pool), one request at a time.
public protocol ControlTarget: Sendable {
    func answer(_ request: ControlRequest) -> ControlAnswer
    /// Called once the answer to `request` has been sent: what must wait for it (`quit`
    /// ends the run, and the process with it).
    func answered(_ request: ControlRequest, _ answer: ControlAnswer)
}

extension ControlTarget {
    public func answered(_ request: ControlRequest, _ answer: ControlAnswer) {}
}

/// A running guest as a control target: each request becomes a `GuestSession` call, and a
/// refusal its one line.
public struct GuestControl: ControlTarget {
    let guest: GuestSession

    public init(_ guest: GuestSession) { self.guest = guest }

    public func answer(_ request: ControlRequest) -> ControlAnswer {
        var a = ControlAnswer(ok: true, command: request.command)
        do throws(GuestControlError) {
            switch request {
            case .status:
                a.status = Self.status(guest.status())
            case .pause:
                a.changed = try guest.pause()
                a.frames = guest.machine.frameCounts
            case .resume:
                a.changed = try guest.resume()
            case .migrate(let m):
                var o = MigrationOptions()
                if let ms = m.maxDowntimeMS { o.maxDowntimeSeconds = ms / 1000 }
                if let b = m.maxBandwidth { o.maxBandwidth = Double(b) }
                if let n = m.maxRounds { o.maxRounds = n }
                o.verify = m.verify
                if let c = m.compress, let mode = CompressionMode(rawValue: c) { o.compression = mode }
                if let a = m.autoConverge { o.autoConverge = a }
                if let ca = m.tlsCA { o.tls = MigrationTLS(certificatePath: m.tlsCertificate, keyPath: m.tlsKey, caPath: ca) }
                try guest.migrate(to: m.host, port: m.port, options: o)
                a.to = m.address
            case .cancel:
                a.to = try guest.cancelMigration()
            case .snapshot(let file, let base):
                let w = try guest.snapshot(to: file, incrementalFrom: base)
                a.snapshot = SnapshotAnswer(file: w.path, kind: w.header.kind == .full ? "full" : "incremental", id: "\(w.header.id)",
                                            base: w.header.base.map { "\($0)" }, sequence: w.header.sequence, pages: w.pages,
                                            bytes: w.bytes, seconds: w.seconds)
            case .quit:
                break // answered(_:_:) stops the guest once the answer is on its way
            }
        } catch {
            return .failure(request.command, error.description)
        }
        return a
    }

    public func answered(_ request: ControlRequest, _ answer: ControlAnswer) {
        if request == .quit && answer.ok { guest.requestStop() }
    }

    static func status(_ s: GuestStatus) -> StatusAnswer {
        var a = StatusAnswer(state: s.state.rawValue)
        a.image = s.image
        a.imagePath = s.imagePath
        (a.width, a.height, a.pitch) = (s.width, s.height, s.pitch)
        a.cpus = s.cpus
        a.ramBytes = s.ramBytes
        a.frames = s.frames
        a.framesPerSecond = finite(s.framesPerSecond)
        a.tracking = s.tracking
        a.displayMethod = s.displayMethod
        a.uptimeSeconds = finite(s.uptimeSeconds)
        a.guestUptimeSeconds = finite(s.guestUptimeSeconds)
        a.paused = s.paused
        a.lastSnapshot = s.lastSnapshot
        a.migration = s.migration.map(migration)
        return a
    }

    static func migration(_ p: MigrationProgress) -> MigrationAnswer {
        var m = MigrationAnswer(to: p.to, state: p.state.rawValue, line: p.line)
        m.attempt = p.attempt
        m.failure = p.failure
        if let r = p.round {
            m.round = r.number
            m.roundPages = r.pages
            m.pagesLeft = r.pagesLeft
            m.bytesPerSecond = finite(r.bytesPerSecond)
            m.expectedDowntimeMs = finite(r.expectedDowntimeSeconds * 1000)
            if r.slowdownPercent > 0 { m.slowdownPercent = r.slowdownPercent }
        }
        return m
    }

    private static func finite(_ v: Double) -> Double { v.isFinite ? v : 0 }
}
