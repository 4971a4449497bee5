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
    init(_ arguments: [String], title: String?, seconds: Int = 300) throws {
        try requireKVMDevice()
        xdotool = title == nil ? XvfbScreen.which("xdotool") : try requireTool("xdotool", install: "apt-get install xdotool")
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
        // X queues what is typed into the focused window until the window reads it.
        try xdo(["windowfocus", "--sync", id])
    }

    deinit {
        end(process)
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// Everything the run printed so far (stdout and stderr).
    func log() -> String { (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? "" }

    /// Waits up to `timeout` seconds for `text` in the log.
    func waitForLog(_ text: String, timeout: Double = 60) -> Bool {
        poll(timeout: timeout, every: 0.02) { log().contains(text) }
    }

    /// Runs xdotool against the screen; returns its standard output.
    @discardableResult
    func xdo(_ args: [String]) throws -> String {
        guard let xdotool else { throw unmetRequirement("needs xdotool (apt-get install xdotool)") }
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
        _ = poll(timeout: 60, every: 0.02) { log().components(separatedBy: "screenshot: ").count > before }
        guard let path = log().components(separatedBy: "screenshot: ").last?.split(separator: "\n").first,
              log().components(separatedBy: "screenshot: ").count > before else {
            throw NSError(domain: "WindowRun", code: 2, userInfo: [NSLocalizedDescriptionKey: "no screenshot: \(log())"])
        }
        return try DecodedPNG(path: String(path))
    }

    /// Screenshots (Ctrl+Alt+S) until one satisfies `done` (the guest drew what the test
    /// waits for), at most `timeout` seconds; the last one either way.
    func screenshot(until done: (DecodedPNG) -> Bool, timeout: Double = 60) throws -> DecodedPNG {
        let deadline = Date(timeIntervalSinceNow: timeout)
        while true {
            let shot = try screenshot()
            if done(shot) || Date() >= deadline { return shot }
        }
    }

    /// The exit status once the run ends by itself within `timeout` seconds; nil if it did
    /// not (it is then ended).
    func exitStatus(timeout: Double = 120) -> Int32? {
        if poll(timeout: timeout, every: 0.02, { !process.isRunning }) {
            process.waitUntilExit() // it has exited: this only reaps it
            return process.terminationStatus
        }
        end(process)
        return nil
    }

    /// Ctrl+Alt+Q, and the exit status (nil if the shortcut did not end the run).
    func quit() throws -> Int32? {
        try xdo(["key", "ctrl+alt+q"])
        return exitStatus()
    }
}
