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
/// guest memory.
public enum MigrationDestination {
    public struct Report: Sendable {
        public var source: String
        public var pages = 0
        public var rounds = 0
        public var bytes = 0
        public var seconds = 0.0
        /// The source's pause to this side's first `KVM_RUN` (the source's part, as it said,
        /// plus the time here from its commit to starting the vCPUs).
        public var downtimeSeconds = 0.0
        public var verifiedPages = 0
    }

    /// Builds the session for an incoming config (an `incoming` TrackingSession, not started).
    public typealias Build = @Sendable (MigrationConfig, GuestImage) throws -> TrackingSession

    /// Listens on `host:port`, migrates one guest in and returns its running session.
    /// `listening(port)` is called once the socket is bound.
    public static func receive(host: String, port: Int, timeout: Double = 30, listening: @escaping @Sendable (Int) -> Void,
                               build: @escaping Build, progress: @escaping @Sendable (String) -> Void) async throws -> (TrackingSession, Report) {
        try await MigrationListener.acceptOne(host: host, port: port, timeout: timeout, listening: listening) { c in
            let start = DispatchTime.now().uptimeNanoseconds
            let config = try await greet(c)
            let session = try await accept(config, from: c, build: build)
            progress("migration from \(c.peer): \(config.imageName) at \(config.width)x\(config.height), \(config.cpus) vCPU(s), \(config.ramBytes >> 20) MiB")
            var report = try await DestinationAttempt(session: session, connection: c, verify: config.verify, progress: progress).run()
            report.bytes = c.bytesReceived
            report.seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            return (session, report)
        }
    }

    /// `receive` for a caller on a thread of its own (the CLI's main thread, the benchmarks):
    /// blocks until the guest runs here or the attempt failed.
    public static func receiveBlocking(host: String, port: Int, timeout: Double = 30, listening: @escaping @Sendable (Int) -> Void,
                                       build: @escaping Build, progress: @escaping @Sendable (String) -> Void) throws -> (TrackingSession, Report) {
        try MultiThreadedEventLoopGroup.singleton.any().makeFutureWithTask {
            try await receive(host: host, port: port, timeout: timeout, listening: listening, build: build, progress: progress)
        }.wait()
    }

    /// Hello both ways; returns the source's config.
    private static func greet(_ c: MigrationConnection) async throws -> MigrationConfig {
        guard case .hello(let v, _) = try await c.expect() else { throw MigrationError.protocolError("the source did not say hello first") }
        try await c.send(.hello(version: MigrationWire.version, capabilities: 0))
        guard v == MigrationWire.version else {
            throw MigrationError.refused("the source speaks protocol version \(v), this destination \(MigrationWire.version)")
        }
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
        try await c.send(.accepted)
        return session
    }
}
