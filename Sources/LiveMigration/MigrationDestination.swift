import Dispatch
import Machine
import MigrationWire
import NIOPosix
import Tracking

/// The receiving side: accepts one source, builds the machine its config describes (through
/// `build`, so the caller chooses tracking and display), writes every page it is sent into
/// guest memory through the tracked write API (so the display shows the guest as it
/// arrives), loads each vCPU's state and the device state, checks digests when asked, and
/// starts the guest when the source commits (`DestinationAttempt`). Everything is
/// validated: a bad message ends the attempt with one line, and nothing is written outside
/// guest memory. The listening socket stays open through the hand-over, so a source whose
/// connection failed after its commit can ask what became of the guest (`OutcomeAnswer`).
public enum MigrationDestination {
    public struct Report: Sendable {
        public var source: String
        public var pages = 0
        public var rounds = 0
        public var bytes = 0
        public var seconds = 0.0
        /// From the pause at the source to the vCPUs starting here (`Downtime`): the source's
        /// time paused until its commit, half the round trip, this side's time to start.
        public var downtimeSeconds = 0.0
        public var verifiedPages = 0
    }

    /// Builds the session for an incoming config (an `incoming` TrackingSession, not started).
    public typealias Build = @Sendable (MigrationConfig, GuestImage) throws -> TrackingSession

    /// The guest, once it runs here.
    struct Arrived: Sendable {
        let session: TrackingSession
        let report: Report
    }

    /// Listens on `host:port`, migrates one guest in and returns its running session.
    /// `listening(port)` is called once the socket is bound. The socket stays open for a
    /// while after the return, until the source confirms it has the answer to its commit.
    /// With `tls`, only a source with a certificate signed by its CA gets through.
    public static func receive(host: String, port: Int, timeout: Double = 30, tls: MigrationTLS? = nil, listening: @escaping @Sendable (Int) -> Void,
                               build: @escaping Build, progress: @escaping @Sendable (String) -> Void,
                               stop: DestinationStop? = nil) async throws -> (TrackingSession, Report) {
        let listener = try await MigrationListener.bind(host: host, port: port, timeout: timeout, tls: tls)
        listening(listener.port)
        let loop = MultiThreadedEventLoopGroup.singleton.any()
        let arrived = loop.makePromise(of: Arrived.self)
        let serving = loop.makeFutureWithTask {
            try await serve(listener, timeout: timeout, build: build, progress: progress, stop: stop, arrived: { arrived.succeed($0) })
        }
        serving.whenComplete { result in // a second completion of the promise is ignored
            if case .failure(let e) = result { arrived.fail(e) }
            arrived.fail(MigrationError.connectionLost("the listening socket closed before a source connected"))
        }
        let a = try await arrived.futureResult.get()
        return (a.session, a.report)
    }

    /// `receive` for a caller on a thread of its own (the CLI's main thread, the benchmarks):
    /// blocks until the guest runs here or the attempt failed.
    public static func receiveBlocking(host: String, port: Int, timeout: Double = 30, listening: @escaping @Sendable (Int) -> Void,
                                       build: @escaping Build, progress: @escaping @Sendable (String) -> Void) throws -> (TrackingSession, Report) {
        try MultiThreadedEventLoopGroup.singleton.any().makeFutureWithTask {
            try await receive(host: host, port: port, timeout: timeout, listening: listening, build: build, progress: progress)
        }.wait()
    }

    /// The first connection is the source's; every later one is answered by `OutcomeAnswer`
    /// (a source asking about its guest, or another source, which is told this side is busy).
    /// Ends when the migration has ended and every question was answered.
    private static func serve(_ listener: MigrationListener, timeout: Double, build: @escaping Build,
                              progress: @escaping @Sendable (String) -> Void, stop: DestinationStop?,
                              arrived: @escaping @Sendable (Arrived) -> Void) async throws {
        try await listener.serve { connections in
            guard let first = await connections.next() else {
                throw MigrationError.connectionLost("the listening socket closed before a source connected")
            }
            let handOver = DestinationHandOver()
            stop?.attach(handOver)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    defer { listener.close() }
                    try await MigrationConnection(first).run { c in
                        try await migrateIn(over: c, handOver: handOver, build: build, progress: progress, arrived: arrived)
                    }
                }
                while let next = await connections.next() {
                    group.addTask { await OutcomeAnswer.serve(MigrationConnection(next), handOver: handOver) }
                }
                try await group.waitForAll()
            }
        }
    }

    /// The source's connection: hello, config, the stream, the hand-over; then, with the
    /// guest running here, the source's `done` (or, if the connection fails first, a while
    /// for it to ask on another).
    private static func migrateIn(over c: MigrationConnection, handOver: DestinationHandOver, build: Build,
                                  progress: @escaping @Sendable (String) -> Void, arrived: @Sendable (Arrived) -> Void) async throws {
        let start = DispatchTime.now().uptimeNanoseconds
        let config = try await greet(c)
        handOver.begin(id: config.migrationID, source: c.channelToClose)
        let session = try await accept(config, from: c, build: build)
        progress("migration from \(c.peer): \(config.imageName) at \(config.width)x\(config.height), \(config.cpus) vCPU(s), \(config.ramBytes >> 20) MiB")
        let attempt = DestinationAttempt(session: session, connection: c, verify: config.verify, handOver: handOver, progress: progress)
        var report = try await attempt.run()
        report.bytes = c.bytesReceived
        report.seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        arrived(Arrived(session: session, report: report))
        if case .done? = try? await c.receive() { return }
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(attempt.inDoubtSeconds * 1e9)
        while !handOver.sourceHasAnswer && DispatchTime.now().uptimeNanoseconds < deadline {
            try? await Task.sleep(nanoseconds: 20_000_000)
        }
    }

    /// Hello both ways; returns the source's config.
    private static func greet(_ c: MigrationConnection) async throws -> MigrationConfig {
        try await OutcomeAnswer.hello(c, from: "source")
        guard case .config(let config) = try await c.expect() else { throw MigrationError.protocolError("expected the config") }
        return config
    }

    /// Checks the image and builds the session, or refuses the config (telling the source why).
    private static func accept(_ config: MigrationConfig, from c: MigrationConnection, build: Build) async throws -> TrackingSession {
        let session: TrackingSession
        do {
            guard config.image.withUnsafeBytes({ PageDigest.of($0) }) == config.imageDigest else {
                throw MigrationError.refused("the guest image's digest does not match its bytes")
            }
            let image = try GuestImage(bytes: config.image, path: "migrated:\(config.imageName)", name: config.imageName)
            session = try build(config, image)
        } catch {
            try? await c.send(.abort("the destination refused the config: \(error)"))
            throw MigrationError.refused("\(error)")
        }
        try await c.send(.accepted(stateNanos: stateCost(session.machine)))
        return session
    }

    /// Saving and loading every vCPU's state once, on the new machine (its state is set again
    /// from the stream): what the state costs the hand-over, for the source's estimate.
    private static func stateCost(_ machine: Machine) -> UInt64 {
        let t0 = DispatchTime.now().uptimeNanoseconds
        for i in 0..<machine.vcpuCount {
            guard let state = try? machine.vcpu(i).saveState() else { continue }
            try? machine.vcpu(i).loadState(state)
        }
        return DispatchTime.now().uptimeNanoseconds - t0
    }
}
