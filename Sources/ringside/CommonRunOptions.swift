import ArgumentParser

/// What `ringside run` and `ringside receive` both take: when to stop, and how the guest is
/// shown and reported.
struct CommonRunOptions: ParsableArguments {
    @Option(parsing: .unconditional,
            help: "Stop each vCPU after its N-th frame, counted from the guest's first (1...1000000000; the picture is then exactly frame N).",
            transform: NumericOptions.int("--frames", NumericOptions.frames))
    var frames: Int?
    @Option(parsing: .unconditional, help: "Stop S seconds after the guest starts on this host (0.001...31536000, one year).",
            transform: NumericOptions.double("--seconds", NumericOptions.seconds, unit: " seconds"))
    var seconds: Double?
    @Flag(help: "Run without a window.")
    var headless = false
    @Option(name: .customLong("refresh"), parsing: .unconditional,
            help: ArgumentHelp("Display refreshes (harvest + repaint) per second, 1...1000. (default: 60)", valueName: "hz"),
            transform: NumericOptions.double("--refresh", NumericOptions.refresh, unit: " refreshes per second"))
    var refreshOption: Double?
    @Flag(help: "Print tracking statistics once a second and a summary at the end.")
    var stats = false

    /// Display refreshes per second (`--refresh`, default 60).
    var refresh: Double { refreshOption ?? 60 }
}
