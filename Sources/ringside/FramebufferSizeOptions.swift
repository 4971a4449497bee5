import ArgumentParser

/// --width and --height: the framebuffer's initial size, as `ringside run` and `ringside qemu`
/// both take them.
struct FramebufferSizeOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: "Framebuffer width in pixels, 64...7680. (default: 1280)",
            transform: NumericOptions.int("--width", NumericOptions.width))
    var width = 1280
    @Option(parsing: .unconditional, help: "Framebuffer height in pixels, 64...4320. (default: 800)",
            transform: NumericOptions.int("--height", NumericOptions.height))
    var height = 800
}
