import Foundation
import XCTest

/// A private X server for tests that need a screen: `Xvfb :N -screen 0 1920x1080x24` on a
/// free display number, started once and stopped when the test process ends; or, with no
/// Xvfb binary, the DISPLAY the tests were started with. Screenshots come from ImageMagick.
public final class XvfbScreen: @unchecked Sendable {
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

    /// The test screen, or an XCTSkip saying why there is none.
    public static func acquire() throws -> XvfbScreen {
        if let shared { return shared }
        if let failure { throw XCTSkip(failure) }
        do {
            shared = try start()
            return shared!
        } catch let skip as XCTSkip {
            failure = skip.message ?? "no screen"
            throw skip
        }
    }

    /// Stops the private server (class tearDown).
    public static func stop() {
        if let server = shared?.server, let stdin = shared?.stdin {
            try? stdin.fileHandleForWriting.close()
            server.waitUntilExit()
        }
        shared = nil
    }

    private static func start() throws -> XvfbScreen {
        guard let importTool = which("import"), which("convert") != nil else {
            throw XCTSkip("needs ImageMagick (import, convert) for screenshots: apt-get install imagemagick")
        }
        _ = importTool
        guard let xvfb = which("Xvfb") else {
            if let display = ProcessInfo.processInfo.environment["DISPLAY"], !display.isEmpty {
                return XvfbScreen(display: display, server: nil)
            }
            throw XCTSkip("needs a screen: neither an Xvfb binary (apt-get install xvfb) nor DISPLAY is available")
        }
        for n in 90..<160 {
            let fm = FileManager.default
            guard !fm.fileExists(atPath: "/tmp/.X\(n)-lock"), !fm.fileExists(atPath: "/tmp/.X11-unix/X\(n)") else { continue }
            // A shell holds Xvfb and kills it when our end of its stdin closes, which also
            // happens when the test process crashes: no server outlives the tests.
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/sh")
            p.arguments = ["-c", "\(xvfb) :\(n) -screen 0 1920x1080x24 -nolisten tcp -noreset & x=$!; read _; kill $x; wait $x"]
            let stdin = Pipe()
            p.standardInput = stdin
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            let deadline = Date().addingTimeInterval(10)
            while Date() < deadline && p.isRunning && !fm.fileExists(atPath: "/tmp/.X11-unix/X\(n)") {
                Thread.sleep(forTimeInterval: 0.02)
            }
            if p.isRunning && fm.fileExists(atPath: "/tmp/.X11-unix/X\(n)") {
                Thread.sleep(forTimeInterval: 0.1)  // the socket exists just before the server accepts
                return XvfbScreen(display: ":\(n)", server: p, stdin: stdin)
            }
            try? stdin.fileHandleForWriting.close()
            p.waitUntilExit()
        }
        throw XCTSkip("Xvfb did not start on any display :90...:159")
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
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.which(tool)!)
        p.arguments = arguments
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw NSError(domain: "XvfbScreen", code: Int(p.terminationStatus),
                          userInfo: [NSLocalizedDescriptionKey: "\(tool) \(arguments.joined(separator: " ")) failed"])
        }
        return data
    }

    /// Runs `xdotool` (at `path`) with `args` against this screen; returns its standard output.
    @discardableResult
    public func xdotool(_ path: String, _ args: [String]) throws -> String {
        let x = Process()
        x.executableURL = URL(fileURLWithPath: path)
        x.arguments = args
        x.environment = ["DISPLAY": display]
        let out = Pipe()
        x.standardOutput = out
        x.standardError = Pipe()
        try x.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        x.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    /// Starts the X client at `path` (a viewer) on this screen with its output discarded; the
    /// caller terminates it.
    public func launch(_ path: String, _ arguments: [String]) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["DISPLAY"] = display
        p.environment = env
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
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
