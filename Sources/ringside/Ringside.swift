import ArgumentParser

/// The root command. `RingsideMain` (UsageErrors.swift) parses with it, so that usage errors
/// are one line and status 1 like every other bad input.
struct Ringside: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ringside",
        abstract: "A framebuffer-tracking display server for KVM guests.",
        discussion: "Ringside boots a guest program in a KVM VM, harvests the KVM dirty rings once per display refresh and feeds one harvest to two consumers: a dirty-tile bitmap for the display (window, PNG files) and a deduplicated page list for migration.",
        subcommands: [RunCommand.self, GuestsCommand.self, InfoCommand.self, BenchCommand.self, VerifyCommand.self, ReceiveCommand.self, QEMUCommand.self, CtlCommand.self],
        defaultSubcommand: RunCommand.self
    )
}
