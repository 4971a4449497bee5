import Foundation

/// The guest programs Ringside ships (assets/guests/bin/NAME.elf).
public enum GuestCatalog {
    public struct Entry: Sendable {
        public let name: String
        public let summary: String
    }

    public static let entries: [Entry] = [
        Entry(name: "desktop", summary: "windows, a moving mouse cursor and a ticking clock: sparse updates (args: windows=N)"),
        Entry(name: "terminal", summary: "a text console printing and scrolling log lines in a bitmap font (args: lines=N per frame)"),
        Entry(name: "paint", summary: "draw with the pointer on a canvas; dirties only where you draw (args: brush=PX; keys 1-8 colour, C clear)"),
        Entry(name: "bounce", summary: "N bouncing sprites: a tunable dirty fraction (args: sprites=N size=PX)"),
        Entry(name: "plasma", summary: "full-screen animation every frame: the worst case"),
        Entry(name: "alternate", summary: "quiet desktop and full-screen animation taking turns every P frames: switching for --tracking auto (args: period=P)"),
        Entry(name: "idle", summary: "one blinking cursor: almost nothing changes"),
        Entry(name: "pattern", summary: "test: a known per-pixel function of (x, y, frame) over the whole screen"),
        Entry(name: "pagewriter", summary: "test: writes the frame number into pseudo-random pages of RAM and framebuffer (args: pages=K seed=S ram=0|1 fb=0|1)"),
        Entry(name: "modes", summary: "test: sets display modes at given frames through DISPI and draws its geometry (args: modes=WxH@F,...)"),
        Entry(name: "modules", summary: "test: lists its boot modules (--module) with a checksum and draws the first one's bytes (args: check=K)"),
        Entry(name: "fault", summary: "test: crashes on purpose (args: kind=ud2|pf|exit status=N)"),
    ]

    public static var names: [String] { entries.map(\.name) }

    /// The default guest for `ringside run`.
    public static let defaultGuest = "desktop"

    /// Where the built-in images live: `$RINGSIDE_GUEST_DIR`, else `assets/guests/bin` found
    /// next to the executable's package checkout (`.build/<config>/ringside`), else under the
    /// current directory.
    public static func directory() -> String? {
        var candidates: [String] = []
        if let env = ProcessInfo.processInfo.environment["RINGSIDE_GUEST_DIR"] { candidates.append(env) }
        var dir = URL(fileURLWithPath: CommandLine.arguments.first ?? ".").resolvingSymlinksInPath().deletingLastPathComponent()
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
        }
        for _ in 0..<6 {
            candidates.append(dir.appendingPathComponent("assets/guests/bin").path)
            candidates.append(dir.appendingPathComponent("share/ringside/guests").path)
            dir.deleteLastPathComponent()
        }
        candidates.append(FileManager.default.currentDirectoryPath + "/assets/guests/bin")
        return candidates.first { FileManager.default.fileExists(atPath: $0 + "/desktop.elf") }
    }

    /// Resolves `--guest NAME|PATH`: a path (contains `/` or ends in `.elf`) is loaded as is;
    /// a name must be a built-in guest or a `BuiltGuest` (whose data files the caller passes as
    /// boot modules: `BuiltGuest.moduleSpecs`). An image file larger than `maxImageBytes` is refused
    /// before it is read.
    public static func load(_ nameOrPath: String, maxImageBytes: UInt64 = GuestImage.maxFileBytes) throws(MachineError) -> GuestImage {
        if nameOrPath.contains("/") || nameOrPath.hasSuffix(".elf") {
            do { return try GuestImage(path: nameOrPath, maxFileBytes: maxImageBytes) } catch { throw .image(error) }
        }
        if let built = BuiltGuest.named(nameOrPath) { return try built.load(maxImageBytes: maxImageBytes) }
        guard names.contains(nameOrPath) else { throw .unknownGuest(nameOrPath, known: names + BuiltGuest.all.map(\.name)) }
        guard let dir = directory() else {
            throw .image(.unreadable(path: "assets/guests/bin/\(nameOrPath).elf",
                                     reason: "built-in guest images not found (set RINGSIDE_GUEST_DIR or run from the checkout)"))
        }
        do { return try GuestImage(path: "\(dir)/\(nameOrPath).elf", name: nameOrPath, maxFileBytes: maxImageBytes) } catch { throw .image(error) }
    }
}
