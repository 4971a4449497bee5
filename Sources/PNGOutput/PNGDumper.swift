#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Display

/// Writes numbered frames (`frame-000123.png`) into one directory as frames complete.
///
/// The directory is checked once, up front, so a bad `--png` argument fails before the guest
/// starts rather than after the first frame. Not thread-safe: call from the display thread.
/// What a dumped file shows: the guest screen, or a composed picture of it.
public enum PNGPicture {
    case shadow(ShadowFramebuffer)
    case canvas(PixelCanvas)
}

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

    /// Checks that `directory` exists, is a directory and is writable (by creating and
    /// removing a probe file), and prepares to write frames into it.
    public init(directory: String, policy: Policy, options: PNGWriter.Options = .fast) throws(PNGError) {
        if case .every(let n) = policy { precondition(n >= 1, "--png every N needs N >= 1") }
        try Self.validateDirectory(directory)
        self.directory = directory
        self.policy = policy
        self.options = options
    }

    /// Throws the `PNGError` that writing into `path` would hit: missing, not a directory,
    /// or not writable.
    public static func validateDirectory(_ path: String) throws(PNGError) {
        var info = stat()
        guard stat(path, &info) == 0 else {
            let code = errno
            if code == ENOENT { throw .directoryMissing(path: path) }
            if code == ENOTDIR { throw .notADirectory(path: path) }
            throw .directoryNotWritable(path: path, errno: code)
        }
        guard info.st_mode & S_IFMT == S_IFDIR else { throw .notADirectory(path: path) }
        let probe = join(path, ".ringside-probe-\(getpid())")
        let fd = open(probe, O_CREAT | O_EXCL | O_WRONLY, 0o600)
        guard fd >= 0 else { throw .directoryNotWritable(path: path, errno: errno) }
        close(fd)
        unlink(probe)
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
