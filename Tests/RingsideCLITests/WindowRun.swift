import Foundation
import TestSupport
import XCTest

/// A `ringside run` in a real window on the test X screen (`XvfbScreen`), started in a
/// directory of its own (where Ctrl+Alt+S screenshots go) with its stdout and stderr in a log
/// file there. Given a window title it waits for that window (xdotool) and focuses it.
/// Ended and cleaned up when released.
final class WindowRun {
    let process = Process()
    /// The run's working directory, removed at the end.
    let dir: String
    let screen: XvfbScreen
    /// The X window id, when started with a title.
    private(set) var id = ""
    private let logFile: String
    private let xdotool: String?

    /// Starts `ringside run arguments --seconds seconds`. Skips without /dev/kvm, a screen,
    /// or (with a `title`) xdotool.
    init(_ arguments: [String], title: String?, seconds: Int = 60) throws {
        guard FileManager.default.fileExists(atPath: "/dev/kvm") else { throw XCTSkip("needs /dev/kvm") }
        xdotool = XvfbScreen.which("xdotool")
        if title != nil && xdotool == nil { throw XCTSkip("needs xdotool (apt-get install xdotool)") }
        screen = try XvfbScreen.acquire()
        dir = NSTemporaryDirectory() + "ringside-window-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        logFile = dir + "/log.txt"
        _ = FileManager.default.createFile(atPath: logFile, contents: nil)
        var env = ProcessInfo.processInfo.environment
        env["DISPLAY"] = screen.display
        process.executableURL = ringsideExecutable()
        process.arguments = ["run"] + arguments + ["--seconds", "\(seconds)"]
        process.environment = env
        process.currentDirectoryURL = URL(fileURLWithPath: dir)
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: logFile))
        process.standardError = process.standardOutput
        try process.run()
        guard let title else { return }
        id = try xdo(["search", "--sync", "--onlyvisible", "--name", title]).split(separator: "\n").first.map(String.init) ?? ""
        guard !id.isEmpty else { throw NSError(domain: "WindowRun", code: 1, userInfo: [NSLocalizedDescriptionKey: "no window: \(log())"]) }
        try xdo(["windowfocus", "--sync", id])
        Thread.sleep(forTimeInterval: 0.5)
    }

    deinit {
        if process.isRunning { process.terminate(); process.waitUntilExit() }
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// Everything the run printed so far (stdout and stderr).
    func log() -> String { (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? "" }

    /// Waits up to `timeout` seconds for `text` in the log.
    func waitForLog(_ text: String, timeout: Double = 10) -> Bool {
        let end = Date(timeIntervalSinceNow: timeout)
        while Date() < end { if log().contains(text) { return true }; Thread.sleep(forTimeInterval: 0.05) }
        return log().contains(text)
    }

    /// Runs xdotool against the screen; returns its standard output.
    @discardableResult
    func xdo(_ args: [String]) throws -> String {
        guard let xdotool else { throw XCTSkip("needs xdotool (apt-get install xdotool)") }
        return try screen.xdotool(xdotool, args)
    }

    /// The window's inner size, from xdotool.
    func windowSize() throws -> (Int, Int) {
        let text = try xdo(["getwindowgeometry", id])
        guard let line = text.split(separator: "\n").first(where: { $0.contains("Geometry:") }),
              let dims = line.split(separator: " ").last?.split(separator: "x"), dims.count == 2,
              let w = Int(dims[0]), let h = Int(dims[1]) else { return (0, 0) }
        return (w, h)
    }

    /// Ctrl+Alt+S, then the PNG it wrote, decoded (needs `DecodedPNG.requireDecoder()`).
    func screenshot() throws -> DecodedPNG {
        let before = log().components(separatedBy: "screenshot: ").count
        try xdo(["key", "ctrl+alt+s"])
        let end = Date(timeIntervalSinceNow: 10)
        while Date() < end && log().components(separatedBy: "screenshot: ").count == before { Thread.sleep(forTimeInterval: 0.05) }
        guard let path = log().components(separatedBy: "screenshot: ").last?.split(separator: "\n").first,
              log().components(separatedBy: "screenshot: ").count > before else {
            throw NSError(domain: "WindowRun", code: 2, userInfo: [NSLocalizedDescriptionKey: "no screenshot: \(log())"])
        }
        return try DecodedPNG(path: String(path))
    }

    /// The exit status once the run ends by itself within `timeout` seconds; nil if it did
    /// not (it is then terminated).
    func exitStatus(timeout: Double) -> Int32? {
        let end = Date(timeIntervalSinceNow: timeout)
        while process.isRunning && Date() < end { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
            return nil
        }
        return process.terminationStatus
    }

    /// Ctrl+Alt+Q, and the exit status (nil if the shortcut did not end the run in 15 s).
    func quit() throws -> Int32? {
        try xdo(["key", "ctrl+alt+q"])
        return exitStatus(timeout: 15)
    }
}
