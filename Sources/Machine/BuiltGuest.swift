import Foundation

/// A guest built from third-party code by a script in the repository, outside it (the code,
/// the image and its data are never committed): `doom` (assets/guests/doom/fetch-and-build.sh).
/// `ringside run --guest NAME` loads its image and passes its data files as boot modules.
public struct BuiltGuest: Sendable {
    public let name: String
    public let summary: String
    /// What builds it, run from the checkout.
    public let buildCommand: String
    /// Overrides the build directory (the script's `--out` default follows it too).
    let directoryVariable: String
    /// The image's file name in the build directory.
    let imageFile: String
    /// Boot modules the guest needs, files in the build directory (each under its own name).
    public let moduleFiles: [String]

    public static let all: [BuiltGuest] = [
        BuiltGuest(name: "doom",
                   summary: "DOOM (doomgeneric) playing Freedoom's demos; keys from the window, VNC or --input-script (args: clock=frames for the same picture at frame N in every run)",
                   buildCommand: "bash assets/guests/doom/fetch-and-build.sh",
                   directoryVariable: "RINGSIDE_DOOM_DIR", imageFile: "doom.elf", moduleFiles: ["freedoom1.wad"]),
    ]

    public static func named(_ name: String) -> BuiltGuest? { all.first { $0.name == name } }

    /// `$RINGSIDE_DOOM_DIR` (for doom), else `$XDG_CACHE_HOME/ringside/NAME`, else
    /// `~/.cache/ringside/NAME`: where the build script writes by default.
    public var directory: String {
        if let dir = ProcessInfo.processInfo.environment[directoryVariable], !dir.isEmpty { return dir }
        return "\(Self.cacheDirectory)/\(name)"
    }

    /// Ringside's folder for what it builds or measures once: `$XDG_CACHE_HOME/ringside`, else
    /// `~/.cache/ringside`.
    public static var cacheDirectory: String {
        let cache = ProcessInfo.processInfo.environment["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? (NSHomeDirectory() + "/.cache")
        return cache + "/ringside"
    }

    public var imagePath: String { "\(directory)/\(imageFile)" }
    /// `--module` specs for its data files (PATH=NAME).
    public var moduleSpecs: [String] { moduleFiles.map { "\(directory)/\($0)=\($0)" } }

    /// Built: the image and every data file are there.
    public var isBuilt: Bool {
        ([imageFile] + moduleFiles).allSatisfy { FileManager.default.fileExists(atPath: "\(directory)/\($0)") }
    }

    /// Its image, or `.guestNotBuilt` naming the command that builds it.
    public func load(maxImageBytes: UInt64) throws(MachineError) -> GuestImage {
        guard isBuilt else { throw .guestNotBuilt(name: name, directory: directory, command: buildCommand) }
        do { return try GuestImage(path: imagePath, name: name, maxFileBytes: maxImageBytes) } catch { throw .image(error) }
    }
}
