import Foundation
import XCTest

/// A private X server for tests that need a screen: `Xvfb :N -screen 0 1920x1080x24` on a
/// free display number, started once and stopped when the test process ends; or, with no
/// Xvfb binary, the DISPLAY the tests were started with. Screenshots come from ImageMagick.
public final class XvfbScreen: Sendable {
    public let display: String
    private let server: Process?
    private let stdin: Pipe?

    nonisolated(unsafe) private static var shared: XvfbScreen?
    nonisolated(unsafe) private static var failure: String?

    private init(display: String, server: Process?, stdin: Pipe? = nil) {
        self.display = display
        self.server = server
        self.stdin = stdin
    }

    /// The test screen, or why there is none (a skip; a failure in CI).
    public static func acquire() throws -> XvfbScreen {
        if let shared { return shared }
        if let failure { throw unmetRequirement(failure) }
        do {
            shared = try start()
            return shared!
        } catch {
            failure = (error as? XCTSkip)?.message ?? "\(error)"
            throw error
        }
    }

    /// Stops the private server (class tearDown).
    public static func stop() {
        if let server = shared?.server, let stdin = shared?.stdin {
            try? stdin.fileHandleForWriting.close()
            _ = waitForExit(server, timeout: 30, "Xvfb")
        }
        shared = nil
    }

    private static func start() throws -> XvfbScreen {
        guard which("import") != nil, which("convert") != nil else {
            throw unmetRequirement("needs ImageMagick (import, convert) for screenshots: apt-get install imagemagick")
        }
        guard let xvfb = which("Xvfb") else {
            if !runningInCI, let display = ProcessInfo.processInfo.environment["DISPLAY"], !display.isEmpty {
                return XvfbScreen(display: display, server: nil)
            }
            throw unmetRequirement("needs a screen: neither an Xvfb binary (apt-get install xvfb) nor DISPLAY is available")
        }
        // Xvfb picks a free display itself (-displayfd) and writes its number once it accepts
        // connections, so test processes running side by side never share a screen. A shell
        // holds it and kills it when our end of its stdin closes, which also happens when the
        // test process crashes: no server outlives the tests.
        let numberFile = FileManager.default.temporaryDirectory.appendingPathComponent("ringside-xvfb-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: numberFile.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: numberFile) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", "\(xvfb) -displayfd 1 -screen 0 1920x1080x24 -nolisten tcp -noreset 2>/dev/null & x=$!; read _; kill $x; wait $x"]
        let stdin = Pipe()
        p.standardInput = stdin
        p.standardOutput = try FileHandle(forWritingTo: numberFile)
        p.standardError = FileHandle.nullDevice
        try p.run()
        func number() -> Int? {
            let text = (try? String(contentsOf: numberFile, encoding: .utf8)) ?? ""
            return text.hasSuffix("\n") ? Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) : nil
        }
        if poll(timeout: 60, every: 0.01, { number() != nil || !p.isRunning }), let n = number() {
            return XvfbScreen(display: ":\(n)", server: p, stdin: stdin)
        }
        try? stdin.fileHandleForWriting.close()
        _ = waitForExit(p, timeout: 30, "the shell holding Xvfb")
        throw unmetRequirement("Xvfb did not start (it printed no display number in 60 s)")
    }

    /// Runs `body` with DISPLAY pointing at this screen.
    public func withDisplay<R>(_ body: () throws -> R) rethrows -> R {
        let old = ProcessInfo.processInfo.environment["DISPLAY"]
        setenv("DISPLAY", display, 1)
        defer { if let old { setenv("DISPLAY", old, 1) } else { unsetenv("DISPLAY") } }
        return try body()
    }

    /// The whole screen as 0x00RRGGBB pixels; also written to `savingTo` as PNG when given.
    public func capture(savingTo png: String? = nil) throws -> Screenshot {
        let data = try run("import", ["-display", display, "-window", "root", "-depth", "8", "rgb:-"])
        let width = 1920, height = data.count / 3 / 1920
        XCTAssertEqual(data.count, width * height * 3, "screenshot is not 1920 pixels wide")
        var pixels = [UInt32](repeating: 0, count: width * height)
        data.withUnsafeBytes { (b: UnsafeRawBufferPointer) in
            for i in 0..<pixels.count {
                pixels[i] = UInt32(b[3 * i]) << 16 | UInt32(b[3 * i + 1]) << 8 | UInt32(b[3 * i + 2])
            }
        }
        if let png { _ = try run("import", ["-display", display, "-window", "root", png]) }
        return Screenshot(width: width, height: height, pixels: pixels)
    }

    private func run(_ tool: String, _ arguments: [String]) throws -> Data {
        let r = try runProgramData(URL(fileURLWithPath: Self.which(tool)!), arguments, timeout: 120)
        guard r.status == 0 else {
            throw NSError(domain: "XvfbScreen", code: Int(r.status),
                          userInfo: [NSLocalizedDescriptionKey: "\(tool) \(arguments.joined(separator: " ")) failed"])
        }
        return r.out
    }

    /// Runs `xdotool` (at `path`) with `args` against this screen; returns its standard output.
    @discardableResult
    public func xdotool(_ path: String, _ args: [String]) throws -> String {
        try runProgram(URL(fileURLWithPath: path), args, environment: ["DISPLAY": display], timeout: 120).out
    }

    /// The id of the first window whose name contains `name` (as `xdotool search --name`
    /// finds it), or nil while there is none.
    public func window(named name: String, xdotool path: String) -> String? {
        let ids = (try? xdotool(path, ["search", "--name", name]))?.split(separator: "\n") ?? []
        return ids.first.map(String.init)
    }

    /// Waits (at most `timeout` s, failing the test with a message) for a window named like
    /// `name`; returns its id, or "" when none came.
    public func waitForWindow(named name: String, xdotool path: String, timeout: Double = 60,
                              file: StaticString = #filePath, line: UInt = #line) -> String {
        var id = ""
        waitFor("a window named \(name)", timeout: timeout, file: file, line: line) {
            id = window(named: name, xdotool: path) ?? ""
            return !id.isEmpty
        }
        return id
    }

    /// Starts the X client at `path` (a viewer) on this screen with its output discarded; the
    /// caller terminates it.
    public func launch(_ path: String, _ arguments: [String]) throws -> Process {
        try launch(path, arguments, log: nil)
    }

    /// `launch`, with the program's stdout and stderr written to the file at `log` (nil:
    /// discarded), for a test to show when the program did not do what it should.
    public func launch(_ path: String, _ arguments: [String], log: String?) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["DISPLAY"] = display
        p.environment = env
        if let log, FileManager.default.createFile(atPath: log, contents: nil), let h = FileHandle(forWritingAtPath: log) {
            p.standardOutput = h
            p.standardError = h
        } else {
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
        }
        try p.run()
        return p
    }

    public static func which(_ tool: String) -> String? {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let path = "\(dir)/\(tool)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }
}

public struct Screenshot {
    public let width: Int, height: Int
    public let pixels: [UInt32]
    /// The pixel at (`x`, `y`); off the screen, a value no pixel has.
    public func pixel(x: Int, y: Int) -> UInt32 {
        x >= 0 && x < width && y >= 0 && y < height ? pixels[y * width + x] : 0xDEAD_BEEF
    }
}

extension Screenshot {
    /// Where a `width` x `height` picture (`expected(x, y)`, 0x00RRGGBB) appears on the screen
    /// with its top-left corner at most `within` pixels from the screen's (a window's place
    /// is the window manager's): the candidate whose corners and centre match, with the count
    /// of wrong pixels; the best of them, or nil when none matches at the corners.
    public func locate(width: Int, height: Int, within: (x: Int, y: Int)? = nil,
                       _ expected: (Int, Int) -> UInt32) -> (x: Int, y: Int, wrong: Int)? {
        let maxX = min(within?.x ?? Int.max, self.width - width), maxY = min(within?.y ?? Int.max, self.height - height)
        guard maxX >= 0, maxY >= 0 else { return nil }
        let topLeft = expected(0, 0), bottomRight = expected(width - 1, height - 1), centre = expected(width / 2, height / 2)
        var best: (x: Int, y: Int, wrong: Int)?
        for oy in 0...maxY {
            for ox in 0...maxX where pixel(x: ox, y: oy) == topLeft && pixel(x: ox + width - 1, y: oy + height - 1) == bottomRight
                && pixel(x: ox + width / 2, y: oy + height / 2) == centre {
                var wrong = 0
                for y in 0..<height { for x in 0..<width where pixel(x: ox + x, y: oy + y) != expected(x, y) { wrong += 1 } }
                if best == nil || wrong < best!.wrong { best = (ox, oy, wrong) }
                if wrong == 0 { return best }
            }
        }
        return best
    }
}

extension XvfbScreen {
    /// Takes screenshots until one shows the picture exactly (see `Screenshot.locate`), at
    /// most `timeout` seconds: a window draws when its client gets to it, which on a loaded
    /// host is later. Returns the last screenshot's best match (nil: not on screen at all);
    /// the last screenshot is also saved to `savingTo` when given.
    public func waitForPicture(width: Int, height: Int, within: (x: Int, y: Int)? = nil, timeout: Double = 60, savingTo png: String? = nil,
                               _ expected: (Int, Int) -> UInt32) throws -> (x: Int, y: Int, wrong: Int)? {
        let deadline = Date(timeIntervalSinceNow: timeout)
        while true {
            let shot = try capture()
            let found = shot.locate(width: width, height: height, within: within, expected)
            if found?.wrong == 0 || Date() >= deadline {
                if let png { _ = try? capture(savingTo: png) }
                return found
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
    }
}
