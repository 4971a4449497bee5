import Dispatch
import Foundation
import Machine
import MigrationWire
import NIOPosix
import Tracking

/// Pre-copy from the dirty list: round 0 sends every non-zero page, each next round syncs,
/// takes the migration subscriber's set and sends only those pages while the guest runs and
/// the display keeps repainting from the same harvests (`SourceAttempt.preCopy`). When the
/// rest fits the downtime budget (`DowntimeBudget`), the vCPUs are paused for the last set,
/// their state and the device state; the source stops only after the destination confirms
/// it can resume (`SourceAttempt.handOver`). Any failure before that resumes the guest here
/// (`SourceAttempt.abandon`): it never notices.
public enum MigrationSource {
    /// Migrates `session`'s guest to `host:port`. On success the machine is stopped (the guest
    /// runs at the destination); on failure it runs on here, and the error says why.
    /// `imageBytes` is the image file's contents when it has no file of its own (a guest that
    /// was itself migrated in); otherwise the file at `image.path` is read, before connecting.
    public static func migrate(_ session: TrackingSession, host: String, port: Int, image: GuestImage, imageBytes: [UInt8]? = nil,
                               options: MigrationOptions, progress: @escaping @Sendable (String) -> Void) async throws -> MigrationReport {
        let bytes = try imageBytes ?? readImage(image)
        let connection = try await MigrationConnection.connect(host: host, port: port, timeout: options.timeout, tls: options.tls)
        return try await connection.run { c in
            try await c.tlsEstablished()
            var config = MigrationConfig(source: session, image: image, bytes: bytes, verify: options.verify)
            config.migrationID = UInt64.random(in: 1...UInt64.max)
            let (roundTrip, state, caps) = try await offer(config, over: c, compression: options.compression)
            let peer = SourceAttempt.Peer(host: host, port: port, migrationID: config.migrationID, helloRoundTrip: roundTrip, stateSeconds: state,
                                          readsCompressedPages: caps & MigrationWire.capabilityCompressedPages != 0)
            return try await SourceAttempt(session: session, connection: c, peer: peer, options: options, progress: progress).run()
        }
    }

    /// `migrate` for a caller on a thread of its own (the benchmarks): blocks until it ends.
    public static func migrateBlocking(_ session: TrackingSession, host: String, port: Int, image: GuestImage, imageBytes: [UInt8]? = nil,
                                       options: MigrationOptions, progress: @escaping @Sendable (String) -> Void) throws -> MigrationReport {
        try MultiThreadedEventLoopGroup.singleton.any().makeFutureWithTask {
            try await migrate(session, host: host, port: port, image: image, imageBytes: imageBytes, options: options, progress: progress)
        }.wait()
    }

    /// Hello both ways, then the config the destination builds its machine from. Returns the
    /// hellos' round trip (the destination answers at once: the link's round trip) and the
    /// destination's cost of the vCPUs' state, in seconds, and the destination's capabilities.
    private static func offer(_ config: MigrationConfig, over c: MigrationConnection,
                              compression: CompressionMode) async throws -> (Double, Double, UInt32) {
        let t0 = DispatchTime.now().uptimeNanoseconds
        // Off asks for nothing: the hello, and so the stream, is byte for byte as before compression.
        let caps = try await hello(c, capabilities: compression == .off ? 0 : MigrationWire.capabilityCompressedPages)
        var roundTrip = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        // Over TLS the destination checks this side's certificate while the hellos cross: the link is what the kernel saw.
        if c.usesTLS, let kernel = await c.kernelRoundTrip() { roundTrip = min(roundTrip, kernel) }
        try await c.send(.config(config))
        guard case .accepted(let state) = try await c.expect() else { throw MigrationError.protocolError("the destination did not accept the config") }
        return (roundTrip, Double(state) / 1e9, caps)
    }

    /// Hello both ways; a destination of another version is refused (it refuses us too).
    /// Heartbeats start once the versions agree. The hello always asks to bind the
    /// destination's nonce; a destination that sends one (`challenge`) gets it back first
    /// (`binding`), so this stream replays into no other destination. Returns the destination's
    /// capability bits (protocol 4 builds before compression send 0).
    @discardableResult
    static func hello(_ c: MigrationConnection, capabilities: UInt32 = 0) async throws -> UInt32 {
        try await c.send(.hello(version: MigrationWire.version, capabilities: capabilities | MigrationWire.capabilityBindsNonce))
        guard case .hello(let v, let caps) = try await c.expect() else { throw MigrationError.protocolError("the destination did not say hello") }
        guard v == MigrationWire.version else {
            throw MigrationError.refused("the destination speaks protocol version \(v), this source \(MigrationWire.version): run the same Ringside on both sides")
        }
        c.startHeartbeats()
        if caps & MigrationWire.capabilityBindsNonce != 0 {
            guard case .challenge(let nonce) = try await c.expect() else { throw MigrationError.protocolError("the destination did not send its nonce") }
            try await c.send(.binding(nonce: nonce))
        }
        return caps
    }

    /// The guest image file, to send in the config so the destination needs no copy of its own.
    private static func readImage(_ image: GuestImage) throws -> [UInt8] {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: image.path)) } catch {
            throw MigrationError.refused("cannot read the guest image \(image.path) to send it: \(error.localizedDescription)")
        }
        guard data.count <= MigrationWire.maxImageBytes else { throw MigrationError.refused("the guest image is larger than \(MigrationWire.maxImageBytes >> 20) MiB") }
        return [UInt8](data)
    }
}
