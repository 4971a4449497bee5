import ArgumentParser
import Display
import Foundation
import KVM
import Machine
import PNGOutput
import Tracking

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Boot a guest program and show its screen (the default command).",
        discussion: "Opens a window when a display is available, or runs headless (--headless, or no DISPLAY). Stops after --frames N guest frames, after --seconds S, or on Ctrl-C, SIGTERM or SIGHUP (with a window, --frames N leaves the final frame on screen until the window is closed); a second signal exits at once with status 128 + its number. The window forwards every key, the pointer (in framebuffer pixels), buttons and wheel to the guest; its own shortcuts are Ctrl+Alt+Q quit, Ctrl+Alt+F full screen, Ctrl+Alt+D show-dirty, Ctrl+Alt+S screenshot, Ctrl+Alt+M migrate now (with --migrate-to). --input-script FILE plays input by guest frame instead, e.g. for a repeatable PNG dump. Exit status: 0 when stopped or finished, 1 for bad input (one line on stderr) or a host error, 2 when the guest crashed, (v << 1) | 1 when the guest wrote v to its exit port 0xF4."
    )

    @OptionGroup var machine: MachineOptions
    @OptionGroup var tracking: TrackingOptions
    @OptionGroup var common: CommonRunOptions
    @Option(name: .customLong("migration-rounds"), parsing: .unconditional,
            help: "Subscribe a migration list and end a round every MS milliseconds (1...3600000), printing its pages.",
            transform: NumericOptions.int("--migration-rounds", NumericOptions.migrationRoundsMS, unit: " milliseconds"))
    var migrationRoundsMS: Int?

    @OptionGroup var output: OutputOptions
    @OptionGroup var migrate: MigrateOptions
    @OptionGroup var input: InputOptions
    @OptionGroup var vnc: VNCOptions
    @OptionGroup var control: ControlOptions
    @Option(name: .customLong("restore"),
            help: ArgumentHelp("Resume a guest from a snapshot file written by `ringside ctl PATH snapshot`: a full one, then (repeated) incremental ones in the order they were taken. The guest options (--guest, --memory, ...) come from the snapshot; --frames N counts from the guest's first frame.",
                               valueName: "file"))
    var restore: [String] = []

    func run() throws {
        // Before anything else, so a SIGTERM during start-up is a clean stop too.
        StopSignals.start()
        runReportingFailures {
            try warnAboutIgnoredOptions()
            try migrate.checkTLSHasDestination()
            if !restore.isEmpty { try RestoreOptions.check(Array(CommandLine.arguments.dropFirst())) }
            return try RunSession(options: self, origin: restore.isEmpty ? .boot(machine) : .restore(restore, device: machine.device)).execute()
        }
    }
}

extension RunCommand: RunSettings {}

/// What `ringside run` and `ringside receive` share once a machine exists.
protocol RunSettings {
    var tracking: TrackingOptions { get }
    var common: CommonRunOptions { get }
    var output: OutputOptions { get }
    var migrationRoundsMS: Int? { get }
    var migrate: MigrateOptions { get }
    var input: InputOptions { get }
    var vnc: VNCOptions { get }
    var control: ControlOptions { get }
}

extension RunSettings {
    var frames: Int? { common.frames }
    var seconds: Double? { common.seconds }
    var headless: Bool { common.headless }
    var refresh: Double { common.refresh }
    var stats: Bool { common.stats }
}

struct MachineOptions: ParsableArguments {
    /// --guest, --args, --module, --guest-abi (shared with `ringside qemu`).
    @OptionGroup var image: GuestOptions
    @Option(parsing: .unconditional, help: "Number of vCPUs, 1...16 and at most what this host's KVM allows. (default: 1)",
            transform: NumericOptions.int("--cpus", NumericOptions.cpus))
    var cpus = 1
    /// --width, --height (shared with `ringside qemu`).
    @OptionGroup var size: FramebufferSizeOptions
    @Option(name: .customLong("max-framebuffer"),
            help: ArgumentHelp("The largest mode the guest may set at run time (DISPI), WxH up to 7680x4320: the framebuffer slot is reserved for it at boot, untouched until used. (default: 7680x4320)",
                               valueName: "WxH"))
    var maxFramebuffer: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("Bytes per framebuffer row (default width*4).", visibility: .hidden),
            transform: NumericOptions.int("--pitch", NumericOptions.pitch))
    var pitch: Int?
    @Option(help: "Guest RAM, e.g. 256M or 4G (8M...32G, whole 2M steps).")
    var memory = "256M"
    @Option(name: .customLong("guest-hz"), parsing: .unconditional,
            help: "Guest frame pacing per second: 0 lets the guest free-run, else 1...100000. (default: 60)",
            transform: NumericOptions.double("--guest-hz", NumericOptions.guestHz, zeroMeans: "free-run"))
    var guestHz: Double = 60
    @Option(help: ArgumentHelp("KVM device path.", visibility: .hidden))
    var device = "/dev/kvm"

    var width: Int { size.width }
    var height: Int { size.height }

    /// Opens KVM, loads the image and checks every range; one line per problem.
    func makeConfig() throws -> (KVMSystem, HostCapabilities, MachineConfig) {
        guard let ram = parseMemorySize(memory) else {
            throw Failure("--memory '\(memory)' is not a size: use 8M...32G in whole 2M steps, a number with M or G, e.g. 256M or 4G")
        }
        try MachineConfig.validate(ramBytes: ram)
        // Geometry and counts are checked before touching KVM, so they fail the same everywhere.
        guard MachineConfig.widthRange.contains(width), MachineConfig.heightRange.contains(height) else {
            throw Failure("resolution \(width)x\(height) is out of range: width must be 64...7680 and height 64...4320")
        }
        guard cpus >= 1 else { throw Failure("--cpus \(cpus) is out of range: use at least 1") }
        // The image and modules are read before KVM is opened: a bad one fails the same everywhere.
        var config = try image.machineConfig(ramBytes: ram)
        let system = try KVMSystem(path: device)
        let caps = try HostCapabilities(system: system)
        config.width = width
        config.height = height
        config.pitch = pitch
        config.cpus = cpus
        config.guestHz = guestHz
        config.maxMode = try maxMode()
        try config.validate(maxVCPUs: caps.usableVCPUs)
        return (system, caps, config)
    }
}

extension MachineOptions {
    /// `--max-framebuffer WxH`, or the largest mode there is (7680x4320) when not given;
    /// never smaller than the initial mode.
    func maxMode() throws -> (width: Int, height: Int) {
        guard let text = maxFramebuffer else { return (max(width, DisplayMode.maxWidth), max(height, DisplayMode.maxHeight)) }
        let parts = text.lowercased().split(separator: "x", omittingEmptySubsequences: false)
        guard parts.count == 2, let w = Int(parts[0]), let h = Int(parts[1]),
              MachineConfig.widthRange.contains(w), MachineConfig.heightRange.contains(h) else {
            throw Failure("--max-framebuffer '\(text)' is not a mode size: use WxH with W in 64...7680 and H in 64...4320, e.g. 1920x1080")
        }
        guard w >= width, h >= height else {
            throw Failure("--max-framebuffer \(w)x\(h) is smaller than the initial mode \(width)x\(height): make it at least that, or lower --width/--height")
        }
        return (w, h)
    }
}

struct TrackingOptions: ParsableArguments {
    @Option(help: "How dirty tiles are found: auto (logged tracking or an unlogged compare, whichever costs host and guest less; see `ringside info`), ring, bitmap, compare or full.")
    var tracking: String = "auto"
    @Option(name: .customLong("ring-entries"), parsing: .unconditional,
            help: ArgumentHelp("Dirty ring entries per vCPU with --tracking ring: a power of two, 256...65536 and at most the host's limit. (default: 4096)",
                               valueName: "ring-entries"),
            transform: NumericOptions.int("--ring-entries", NumericOptions.ringEntries, powerOfTwo: true))
    var ringEntriesOption: Int?

    /// `--ring-entries`, or the default when not given.
    var ringEntries: Int { ringEntriesOption ?? TrackingPlan.defaultRingEntries }
    @Option(help: "Tile size WxH for the dirty-tile bitmap.")
    var tile = "64x16"

    func mode() throws -> TrackingMode {
        guard let m = TrackingMode(rawValue: tracking) else {
            throw Failure("--tracking '\(tracking)' is not a mode: use ring, bitmap, compare, full or auto")
        }
        return m
    }

    func tileSize() throws -> TileSize {
        guard let t = TileSize(parsing: tile), t.width >= 8, t.height >= 1, t.width <= 1024, t.height <= 1024 else {
            throw Failure("--tile '\(tile)' is not a tile size: use WxH with W in 8...1024 and H in 1...1024, e.g. 64x16")
        }
        return t
    }
}

struct OutputOptions: ParsableArguments {
    @Option(help: "Write PNG files of the guest's screen into DIR (headless dump).")
    var png: String?
    @Option(name: .customLong("png-every"), parsing: .unconditional, help: "With --png: a file every N guest frames (1...1000000000).",
            transform: NumericOptions.int("--png-every", NumericOptions.pngEvery))
    var pngEvery: Int?
    @Flag(name: .customLong("png-on-change"), help: "With --png: a file for every frame that changed something.")
    var pngOnChange = false
    @Flag(name: .customLong("show-dirty"), help: "Tint tiles repainted in the last frames.")
    var showDirty = false
    @Flag(name: .customLong("show-split"), help: "Beside the screen, draw guest memory pages lit by the migration list.")
    var showSplit = false
    @Flag(help: "Scale the window by whole numbers with nearest-neighbour sampling (sharp pixels).")
    var nearest = false
    @Flag(name: .customLong("fixed-mode"), help: "Do not ask the guest for a new mode when the window is resized or a VNC client asks for a size (a guest that follows such requests otherwise sets a mode of that size; VNC clients are refused as prohibited).")
    var fixedMode = false

    func pngPolicy() throws -> PNGDumper.Policy? {
        if png == nil {
            if pngEvery != nil || pngOnChange { throw Failure("--png-every and --png-on-change need --png DIR") }
            return nil
        }
        if let n = pngEvery {
            guard n >= 1 else { throw Failure("--png-every \(n) is out of range: use 1 or more (a file every N guest frames)") }
            if pngOnChange { throw Failure("use either --png-every or --png-on-change, not both") }
            return .every(n)
        }
        return pngOnChange ? .onChange : .lastFrameOnly
    }
}
