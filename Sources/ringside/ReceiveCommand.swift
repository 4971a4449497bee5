import ArgumentParser
import Foundation
import GuestSession
import Machine

struct ReceiveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "receive",
        abstract: "Wait for one guest migrated by `ringside run --migrate-to`, then run it here.",
        discussion: "Listens on --listen (127.0.0.1 unless an address is given; port 0 picks a free one and prints it), takes one incoming VM, builds it from the stream, and from then on behaves like `ringside run`: its own tracking, window or PNG files, --stats, and onward migration with --migrate-to. If the source goes away before handing over, what was received is discarded and the exit status is 1. Exit statuses otherwise as for `ringside run`."
    )

    @Option(help: ArgumentHelp("Address to listen on: [ADDR]:PORT.", valueName: "addr:port"))
    var listen: String
    @OptionGroup var tracking: TrackingOptions
    @OptionGroup var common: CommonRunOptions
    @Option(parsing: .unconditional, help: "Seconds without a message from the source before giving up (1...3600; default 30).",
            transform: NumericOptions.double("--timeout", 1...3600, unit: " seconds"))
    var timeout: Double?
    @Option(name: .customLong("memory-limit"), help: ArgumentHelp("Refuse a guest with more RAM than SIZE, e.g. 4G.", valueName: "size"))
    var memoryLimit: String?
    @OptionGroup var output: OutputOptions
    @OptionGroup var migrate: MigrateOptions
    @OptionGroup var input: InputOptions
    @OptionGroup var vnc: VNCOptions
    @OptionGroup var control: ControlOptions
    @Option(help: ArgumentHelp("KVM device path.", visibility: .hidden))
    var device = "/dev/kvm"

    func run() throws {
        StopSignals.start()
        runReportingFailures {
            let (host, port) = try parseAddress(listen, option: "--listen", defaultHost: "127.0.0.1", allowPortZero: true)
            let limit = try memoryLimit.map { text -> UInt64 in
                guard let v = parseMemorySize(text) else { throw Failure("--memory-limit '\(text)' is not a size: use e.g. 512M or 4G") }
                return v
            }
            var incoming = IncomingMigration(host: host, port: port, timeout: timeout ?? 30, memoryLimit: limit)
            incoming.tls = try migrate.tls(receiving: true)
            return try RunSession(options: self, origin: .incoming(incoming, device: device)).execute()
        }
    }
}

extension ReceiveCommand: RunSettings {
    var migrationRoundsMS: Int? { nil }
}
