import KVM
import LiveMigration
import Machine
import MigrationWire
import NIOPosix
import Synchronization
import Tracking

/// Where `ringside receive` listens, and what it takes.
public struct IncomingMigration: Sendable {
    public var host: String
    public var port: Int
    /// Seconds without a message from the source before giving up.
    public var timeout: Double
    /// Refuse a guest with more RAM than this.
    public var memoryLimit: UInt64?
    /// TLS for the incoming stream (`--migrate-tls-*`); nil: plain TCP.
    public var tls: MigrationTLS?
    /// Lets a signal end the wait without losing a guest that already started here.
    public var stop: DestinationStop?
    public init(host: String, port: Int, timeout: Double, memoryLimit: UInt64?) {
        self.host = host
        self.port = port
        self.timeout = timeout
        self.memoryLimit = memoryLimit
    }
}

extension GuestSession {
    /// Waits for one guest from a `MigrationSource` and builds the session around it, with
    /// the machine config the stream describes (`MigrationConfig.machineConfig`) and this
    /// side's settings. The hand-over starts the guest; `start()` starts the rest.
    /// `listening(port)` once the socket is bound; `progress` for each step received.
    public static func receive(system: KVMSystem, caps: HostCapabilities, from incoming: IncomingMigration, settings: SessionSettings,
                               events: SessionEvents, listening: @escaping @Sendable (Int) -> Void,
                               progress: @escaping @Sendable (String) -> Void) async throws -> (GuestSession, MigrationDestination.Report) {
        let wiring = try Wiring(settings: settings, caps: caps, events: events)
        let image = Mutex<[UInt8]?>(nil)
        let (tracking, report) = try await MigrationDestination.receive(
            host: incoming.host, port: incoming.port, timeout: incoming.timeout, tls: incoming.tls, listening: listening,
            build: { wire, guestImage in
                image.withLock { $0 = wire.image }
                return try incomingTracking(try wire.machineConfig(image: guestImage, memoryLimit: incoming.memoryLimit),
                                            system: system, caps: caps, wiring: wiring, settings: settings)
            },
            progress: progress, stop: incoming.stop)
        let session = GuestSession(tracking: tracking, settings: settings, events: events, wiring: wiring,
                                   imageBytes: image.withLock { $0 } ?? [], startsMachine: false)
        return (session, report)
    }

    /// The tracking session for a guest that arrives (by migration or from a snapshot) with
    /// `config`: this side's settings applied and checked, the machine built, not started.
    static func incomingTracking(_ config: MachineConfig, system: KVMSystem, caps: HostCapabilities, wiring: Wiring,
                                 settings: SessionSettings) throws -> TrackingSession {
        var config = config
        wiring.finish(&config, settings)
        try config.validate(maxVCPUs: caps.usableVCPUs)
        let tracking = try TrackingSession(system: system, config: config, plan: wiring.plan, tile: settings.tile,
                                           migration: settings.subscribesMigrationList,
                                           events: wiring.hooks.machineEvents(lockstep: settings.perFrameDump), incoming: true)
        wiring.attach(tracking)
        return tracking
    }

    /// `receive` for a caller on a thread of its own (the CLI's main thread): blocks until
    /// the guest runs here or the attempt failed.
    public static func receiveBlocking(system: KVMSystem, caps: HostCapabilities, from incoming: IncomingMigration, settings: SessionSettings,
                                       events: SessionEvents, listening: @escaping @Sendable (Int) -> Void,
                                       progress: @escaping @Sendable (String) -> Void) throws -> (GuestSession, MigrationDestination.Report) {
        try MultiThreadedEventLoopGroup.singleton.any().makeFutureWithTask {
            try await receive(system: system, caps: caps, from: incoming, settings: settings, events: events,
                              listening: listening, progress: progress)
        }.wait()
    }
}
