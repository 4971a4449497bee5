#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Display

/// What a dumped file shows: the guest screen, or a composed picture of it.
public enum PNGPicture {
    case shadow(ShadowFramebuffer)
    case canvas(PixelCanvas)
}

/// Writes numbered frames (`frame-000123.png`) into one directory as frames complete.
///
/// The directory is made and checked once, up front, so a bad `--png` argument fails before
/// the guest starts rather than after the first frame. Not thread-safe: call from the
/// display thread.
public final class PNGDumper {
    /// Which frames become files.
    public enum Policy: Sendable, Equatable {
        /// Only the frame passed to `finish` (the last one).
        case lastFrameOnly
        /// Every frame whose number is a multiple of `n` (`n >= 1`).
        case every(Int)
        /// Every frame in which something changed, and the first frame seen regardless, so a
        /// static screen still produces one file.
        case onChange
    }

    /// The directory the files go to.
    public let directory: String
    /// Which frames are written.
    public let policy: Policy
    /// Encoder settings.
    public let options: PNGWriter.Options
    /// Number of files written so far.
    public private(set) var filesWritten = 0
    private var firstFile: String?
    private var lastFile: String?
    private var lastWrittenFrame: Int?
    private var framesSeen = 0

    /// Creates `directory` and its missing parents (as `mkdir -p`, mode 0755 less the umask),
    /// checks it is writable (by creating and removing a probe file), and prepares to write
    /// frames into it.
    public init(directory: String, policy: Policy, options: PNGWriter.Options = .fast) throws(PNGError) {
        if case .every(let n) = policy { precondition(n >= 1, "--png every N needs N >= 1") }
        try Self.prepareDirectory(directory)
        self.directory = directory
        self.policy = policy
        self.options = options
    }

    /// Makes `path` a writable directory, creating it and its parents as needed; throws the
    /// `PNGError` saying why it cannot be one: a file in the way, a directory that cannot be
    /// created, or one files cannot be created in (each with the real errno).
    public static func prepareDirectory(_ path: String) throws(PNGError) {
        try createDirectories(path, for: path)
        let probe = join(path, ".ringside-probe-\(getpid())")
        let fd = open(probe, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .directoryNotWritable(path: path, errno: errno) }
        close(fd)
        unlink(probe)
    }

    /// `mkdir -p directory`: each missing directory from the top down, mode 0755.
    private static func createDirectories(_ directory: String, for path: String) throws(PNGError) {
        var info = stat()
        if stat(directory, &info) == 0 {
            guard info.st_mode & S_IFMT == S_IFDIR else { throw .notADirectory(path: path) }
            return
        }
        let code = errno
        if code == ENOTDIR { throw .notADirectory(path: path) }
        guard code == ENOENT else { throw .cannotCreateDirectory(path: path, directory: directory, errno: code) }
        let parent = parentDirectory(directory)
        if parent != directory { try createDirectories(parent, for: path) }
        if mkdir(directory, 0o755) != 0 {
            let code = errno
            // Someone else made it meanwhile: fine if it is a directory.
            guard code == EEXIST, stat(directory, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else {
                throw .cannotCreateDirectory(path: path, directory: directory, errno: code)
            }
        }
    }

    /// `a/b/c/` -> `a/b`, `a` -> `.`, `/a` -> `/`.
    public static func parentDirectory(_ path: String) -> String {
        var p = Substring(path)
        while p.count > 1 && p.hasSuffix("/") { p = p.dropLast() }
        guard let slash = p.lastIndex(of: "/") else { return "." }
        var parent = p[..<slash]
        while parent.count > 1 && parent.hasSuffix("/") { parent = parent.dropLast() }
        return parent.isEmpty ? "/" : String(parent)
    }

    /// The file name of frame `frame`: `frame-000123.png`.
    public static func fileName(forFrame frame: Int) -> String {
        let digits = String(frame)
        return "frame-" + String(repeating: "0", count: max(0, 6 - digits.count)) + digits + ".png"
    }

    /// Tells the dumper frame `frame` is complete in `shadow` (`changed`: any tile was
    /// repainted); writes it if the policy says so.
    public func frameCompleted(frame: Int, changed: Bool, shadow: ShadowFramebuffer) throws(PNGError) {
        try frameCompleted(frame: frame, changed: changed, picture: .shadow(shadow))
    }

    /// As above, with the picture to write (the screen, or a composed view such as the
    /// split view), made only when the policy wants this frame.
    public func frameCompleted(frame: Int, changed: Bool, picture: @autoclosure () -> PNGPicture) throws(PNGError) {
        framesSeen += 1
        let wanted: Bool
        switch policy {
        case .lastFrameOnly: wanted = false
        case .every(let n): wanted = frame % n == 0
        case .onChange: wanted = changed || framesSeen == 1
        }
        if wanted { try write(frame: frame, picture: picture()) }
    }

    /// Ends the run at frame `lastFrame`: with `.lastFrameOnly`, writes it (unless already written).
    public func finish(lastFrame: Int, shadow: ShadowFramebuffer) throws(PNGError) {
        try finish(lastFrame: lastFrame, picture: .shadow(shadow))
    }

    public func finish(lastFrame: Int, picture: @autoclosure () -> PNGPicture) throws(PNGError) {
        if policy == .lastFrameOnly && lastWrittenFrame != lastFrame {
            try write(frame: lastFrame, picture: picture())
        }
    }

    /// `wrote 12 PNG files to /x (frame-000001.png ... frame-000012.png)`.
    public var summary: String {
        switch filesWritten {
        case 0: return "wrote no PNG files to \(directory)"
        case 1: return "wrote 1 PNG file to \(directory) (\(lastFile ?? ""))"
        default: return "wrote \(filesWritten) PNG files to \(directory) (\(firstFile ?? "") ... \(lastFile ?? ""))"
        }
    }

    private func write(frame: Int, picture: PNGPicture) throws(PNGError) {
        let name = Self.fileName(forFrame: frame)
        let path = Self.join(directory, name)
        switch picture {
        case .shadow(let shadow): try PNGWriter.write(shadow, to: path, options: options)
        case .canvas(let canvas): try PNGWriter.write(canvas, to: path, options: options)
        }
        filesWritten += 1
        if firstFile == nil { firstFile = name }
        lastFile = name
        lastWrittenFrame = frame
    }

    private static func join(_ directory: String, _ name: String) -> String {
        directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }
}
