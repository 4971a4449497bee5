import Foundation
import Testing
import Display
import PNGOutput

@Suite("PNGDumper")
struct PNGDumperTests {
    let shadow = ShadowFramebuffer(geometry: FramebufferGeometry(width: 33, height: 9, pitch: 33 * 4 + 4))

    @Test("a missing directory and its missing parents are created, mode 0755, like mkdir -p")
    func missingDirectoriesAreCreated() throws {
        let dir = ScratchDirectory()
        defer { dir.remove() }
        let mask = umask(0o022)
        defer { umask(mask) }
        let nested = dir.path + "/a/b/c/"
        let dumper = try PNGDumper(directory: nested, policy: .lastFrameOnly)
        for sub in ["/a", "/a/b", "/a/b/c"] {
            var info = stat()
            #expect(stat(dir.path + sub, &info) == 0)
            #expect(info.st_mode & S_IFMT == S_IFDIR)
            #expect(info.st_mode & 0o777 == 0o755, "\(sub) is mode 0755")
        }
        try dumper.finish(lastFrame: 7, shadow: shadow)
        #expect(FileManager.default.fileExists(atPath: nested + "frame-000007.png"))
    }

    @Test("a directory that cannot be created is refused with mkdir's errno")
    func uncreatableDirectory() throws {
        try #require(FileManager.default.fileExists(atPath: "/proc/self"), "needs Linux procfs")
        #expect(throws: PNGError.cannotCreateDirectory(path: "/proc/ringside/x", directory: "/proc/ringside", errno: ENOENT)) {
            try PNGDumper(directory: "/proc/ringside/x", policy: .onChange)
        }
        #expect(PNGError.cannotCreateDirectory(path: "/proc/ringside/x", directory: "/proc/ringside", errno: ENOENT).description
            == "cannot write PNG files into /proc/ringside/x: cannot create directory /proc/ringside: No such file or directory (ENOENT) (choose another --png directory)")
    }

    @Test("parent directories of odd paths")
    func parents() {
        #expect(PNGDumper.parentDirectory("a/b/c/") == "a/b")
        #expect(PNGDumper.parentDirectory("a//b") == "a")
        #expect(PNGDumper.parentDirectory("a") == ".")
        #expect(PNGDumper.parentDirectory("/a") == "/")
        #expect(PNGDumper.parentDirectory("/") == "/")
    }

    @Test("a file where the directory should be is refused")
    func fileInsteadOfDirectory() throws {
        let dir = ScratchDirectory()
        defer { dir.remove() }
        let file = dir.path + "/plain-file"
        FileManager.default.createFile(atPath: file, contents: Data("x".utf8))
        #expect(throws: PNGError.notADirectory(path: file)) { try PNGDumper(directory: file, policy: .onChange) }
        #expect(throws: PNGError.notADirectory(path: file + "/sub")) { try PNGDumper(directory: file + "/sub", policy: .onChange) }
    }

    @Test("a directory even root cannot create files in is refused as not writable")
    func readOnlyDirectory() throws {
        // sysfs refuses new files to everyone, root included (chmod would not stop root).
        try #require(FileManager.default.fileExists(atPath: "/sys/kernel"), "needs Linux sysfs")
        #expect {
            try PNGDumper(directory: "/sys", policy: .onChange)
        } throws: { error in
            guard case PNGError.directoryNotWritable(let path, let code) = error else { return false }
            return path == "/sys" && code != 0
                && (error as! PNGError).description.hasPrefix("cannot write PNG files into /sys: ")
                && (error as! PNGError).description.hasSuffix("(make it writable or choose another --png directory)")
        }
    }

    @Test("the probe file is removed after validation")
    func probeRemoved() throws {
        let dir = ScratchDirectory()
        defer { dir.remove() }
        _ = try PNGDumper(directory: dir.path, policy: .onChange)
        #expect(dir.contents().isEmpty)
    }

    @Test("every(3) writes the frames whose number is a multiple of 3")
    func everyN() throws {
        let dir = ScratchDirectory()
        defer { dir.remove() }
        let dumper = try PNGDumper(directory: dir.path, policy: .every(3))
        for frame in 1...10 { try dumper.frameCompleted(frame: frame, changed: frame == 1, shadow: shadow) }
        try dumper.finish(lastFrame: 10, shadow: shadow)
        #expect(dir.contents() == ["frame-000003.png", "frame-000006.png", "frame-000009.png"])
        #expect(dumper.filesWritten == 3)
        #expect(dumper.summary == "wrote 3 PNG files to \(dir.path) (frame-000003.png ... frame-000009.png)")
    }

    @Test("onChange writes the first frame and every changed one")
    func onChange() throws {
        let dir = ScratchDirectory()
        defer { dir.remove() }
        let dumper = try PNGDumper(directory: dir.path + "/", policy: .onChange)
        for frame in 1...6 { try dumper.frameCompleted(frame: frame, changed: frame == 4 || frame == 5, shadow: shadow) }
        try dumper.finish(lastFrame: 6, shadow: shadow)
        #expect(dir.contents() == ["frame-000001.png", "frame-000004.png", "frame-000005.png"])
    }

    @Test("lastFrameOnly writes one file, at finish")
    func lastFrameOnly() throws {
        let dir = ScratchDirectory()
        defer { dir.remove() }
        let dumper = try PNGDumper(directory: dir.path, policy: .lastFrameOnly)
        for frame in 1...5 { try dumper.frameCompleted(frame: frame, changed: true, shadow: shadow) }
        #expect(dir.contents().isEmpty)
        try dumper.finish(lastFrame: 5, shadow: shadow)
        #expect(dir.contents() == ["frame-000005.png"])
        #expect(dumper.summary == "wrote 1 PNG file to \(dir.path) (frame-000005.png)")
    }

    @Test("frame numbers past six digits still name distinct files")
    func wideFrameNumbers() {
        #expect(PNGDumper.fileName(forFrame: 7) == "frame-000007.png")
        #expect(PNGDumper.fileName(forFrame: 1_234_567) == "frame-1234567.png")
    }
}
