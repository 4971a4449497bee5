import ArgumentParser
import GuestSession
import LiveMigration
import Machine

/// `--migrate-to` and its budget: live migration of the running guest to `ringside receive`.
struct MigrateOptions: ParsableArguments {
    @Option(name: .customLong("migrate-to"), help: ArgumentHelp("Migrate the running guest to a `ringside receive` at HOST:PORT.", valueName: "host:port"))
    var migrateTo: String?
    @Option(name: .customLong("migrate-after"), parsing: .unconditional, help: "Start migrating S seconds after boot (0...86400; default 1).",
            transform: NumericOptions.double("--migrate-after", 0...86_400, unit: " seconds"))
    var migrateAfter: Double?
    @Option(name: .customLong("migrate-at-frame"), parsing: .unconditional, help: "Start migrating when vCPU 0 completes frame N.",
            transform: NumericOptions.int("--migrate-at-frame", NumericOptions.frames))
    var migrateAtFrame: Int?
    @Option(name: .customLong("max-downtime"), parsing: .unconditional, help: "Downtime budget in milliseconds (1...60000; default 300).",
            transform: NumericOptions.double("--max-downtime", 1...60_000, unit: " milliseconds"))
    var maxDowntimeMS: Double?
    @Option(name: .customLong("max-bandwidth"), help: ArgumentHelp("Bytes per second at most, e.g. 128M (default: unlimited).", valueName: "rate"))
    var maxBandwidth: String?
    @Option(name: .customLong("max-rounds"), parsing: .unconditional, help: "Pre-copy rounds at most; if what is left still would not fit --max-downtime, the migration is abandoned and the guest keeps running here (1...1000; default 30).",
            transform: NumericOptions.int("--max-rounds", 1...1000))
    var maxRounds: Int?
    @Option(name: .customLong("migrate-attempts"), parsing: .unconditional, help: "Attempts before giving up (1...100; default 1), --migrate-after apart.",
            transform: NumericOptions.int("--migrate-attempts", 1...100))
    var attempts: Int?
    @Option(name: .customLong("migrate-timeout"), parsing: .unconditional,
            help: "Seconds without a message from the destination before giving up (1...3600; default 30).",
            transform: NumericOptions.double("--migrate-timeout", 1...3600, unit: " seconds"))
    var timeout: Double?
    @Option(name: .customLong("migrate-compress"),
            help: ArgumentHelp("Compress page batches with zlib: auto (when round 0 measures a link slower than compressing here pays for), on, off (default auto).",
                               valueName: "auto|on|off"))
    var compress: String?
    @Option(name: .customLong("auto-converge"),
            help: ArgumentHelp("Slow the guest's pace step by step while it dirties pages faster than the link takes them, restored after (default on).",
                               valueName: "on|off"))
    var autoConverge: String?
    @Flag(name: .customLong("verify-migration"), help: "Send a digest of every page; the destination refuses to resume on any difference.")
    var verify = false
    @Option(name: .customLong("migrate-tls-cert"), help: ArgumentHelp("Migrate over TLS: this side's certificate (PEM), signed by the CA the other side trusts.", valueName: "file"))
    var tlsCert: String?
    @Option(name: .customLong("migrate-tls-key"), help: ArgumentHelp("The private key of --migrate-tls-cert (PEM).", valueName: "file"))
    var tlsKey: String?
    @Option(name: .customLong("migrate-tls-ca"), help: ArgumentHelp("Migrate over TLS: the CA (PEM) the other side's certificate must be signed by; both sides check each other's.", valueName: "file"))
    var tlsCA: String?

    /// The destination and the migration's options, or nil when no migration was asked for.
    func plan() throws -> (host: String, port: Int, options: MigrationOptions)? {
        guard let migrateTo else {
            if migrateAfter != nil || migrateAtFrame != nil || maxDowntimeMS != nil || maxBandwidth != nil || maxRounds != nil || attempts != nil || verify || timeout != nil || compress != nil || autoConverge != nil {
                throw Failure("--migrate-after, --migrate-at-frame, --max-downtime, --max-bandwidth, --max-rounds, --migrate-attempts, --migrate-timeout, --migrate-compress, --auto-converge and --verify-migration need --migrate-to HOST:PORT")
            }
            return nil
        }
        if migrateAfter != nil && migrateAtFrame != nil { throw Failure("give --migrate-after or --migrate-at-frame, not both") }
        let (host, port) = try parseAddress(migrateTo, option: "--migrate-to", defaultHost: nil, allowPortZero: false)
        var o = MigrationOptions()
        if let ms = maxDowntimeMS { o.maxDowntimeSeconds = ms / 1000 }
        if let maxRounds { o.maxRounds = maxRounds }
        if let maxBandwidth {
            guard let bytes = parseMemorySize(maxBandwidth), bytes >= 1 << 20 else {
                throw Failure("--max-bandwidth '\(maxBandwidth)' is not a rate: use bytes per second, at least 1M, e.g. 128M")
            }
            o.maxBandwidth = Double(bytes)
        }
        o.verify = verify
        if let timeout { o.timeout = timeout }
        o.tls = try tls(receiving: false)
        if let compress {
            guard let mode = CompressionMode(rawValue: compress) else { throw Failure("--migrate-compress '\(compress)': use auto, on or off") }
            o.compression = mode
        }
        if let autoConverge {
            guard ["on", "off"].contains(autoConverge) else { throw Failure("--auto-converge '\(autoConverge)': use on or off") }
            o.autoConverge = autoConverge == "on"
        }
        return (host, port, o)
    }
}

extension MigrateOptions {
    /// TLS for the stream, or nil when no --migrate-tls-* option was given. A destination
    /// (`receiving`) needs all three; a source needs the CA, and a certificate with its key
    /// for a destination that checks it (every Ringside destination does).
    func tls(receiving: Bool) throws -> MigrationTLS? {
        guard tlsCert != nil || tlsKey != nil || tlsCA != nil else { return nil }
        guard let tlsCA else { throw Failure("--migrate-tls-cert and --migrate-tls-key need --migrate-tls-ca, the CA that signs the other side's certificate") }
        if tlsKey != nil && tlsCert == nil { throw Failure("--migrate-tls-key needs --migrate-tls-cert, the certificate it belongs to") }
        if tlsCert != nil && tlsKey == nil { throw Failure("--migrate-tls-cert needs --migrate-tls-key, the certificate's private key") }
        if receiving && tlsCert == nil {
            throw Failure("ringside receive with --migrate-tls-ca needs --migrate-tls-cert and --migrate-tls-key too: the source checks the destination's certificate")
        }
        return MigrationTLS(certificatePath: tlsCert, keyPath: tlsKey, caPath: tlsCA)
    }

    /// `run`: the TLS options are for --migrate-to (`ringside ctl ... migrate` takes its own).
    func checkTLSHasDestination() throws {
        if migrateTo == nil && (tlsCert != nil || tlsKey != nil || tlsCA != nil) {
            throw Failure("--migrate-tls-cert, --migrate-tls-key and --migrate-tls-ca need --migrate-to HOST:PORT (ringside ctl PATH migrate takes them too)")
        }
    }

    /// The outgoing migration: where, how, and when (--migrate-after, 1 s by default, or
    /// --migrate-at-frame); nil when none was asked for.
    func outgoing() throws -> OutgoingMigration? {
        guard let (host, port, options) = try plan() else { return nil }
        return OutgoingMigration(host: host, port: port, options: options, attempts: attempts ?? 1,
                                 after: migrateAfter ?? (migrateAtFrame == nil ? 1 : nil), atFrame: migrateAtFrame)
    }
}

/// `HOST:PORT`, `:PORT` or `[V6]:PORT`. With no host, `defaultHost` (or an error without one).
func parseAddress(_ text: String, option: String, defaultHost: String?, allowPortZero: Bool) throws -> (String, Int) {
    guard let colon = text.lastIndex(of: ":") else { throw Failure("\(option) '\(text)' is not an address: use HOST:PORT, e.g. 127.0.0.1:7777") }
    var host = String(text[..<colon])
    if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
    let portText = text[text.index(after: colon)...]
    guard let port = Int(portText), (allowPortZero ? 0 : 1)...65535 ~= port else {
        throw Failure("\(option) '\(text)': the port must be \(allowPortZero ? 0 : 1)...65535")
    }
    if host.isEmpty {
        guard let defaultHost else { throw Failure("\(option) '\(text)' names no host: use HOST:PORT, e.g. 127.0.0.1:\(port)") }
        host = defaultHost
    }
    return (host, port)
}

/// `HOST:PORT`, with an IPv6 host in brackets (`[::1]:7777`), as `--migrate-to` takes it.
func formatAddress(_ host: String, _ port: Int) -> String {
    host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
}
