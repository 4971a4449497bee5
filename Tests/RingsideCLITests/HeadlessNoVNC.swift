import Foundation
import TestSupport
import XCTest

/// noVNC in headless Chromium, looked at again until it shows what a test waits for. Chromium's
/// `--virtual-time-budget` fast-forwards the page's timers but does not wait for WebSocket
/// data, so on a loaded host the screenshot or DOM dump can come before noVNC has drawn (or
/// set its cursor) even though the server sent the update. Each try gets a larger budget, up
/// to 8 tries or `seconds` of real time; what was seen last is returned for the failure.
enum HeadlessNoVNC {
    typealias Run = (status: Int32, out: String, err: String)

    static let budgets = [8000, 15000, 30000]

    /// Headless Chromium's path, once both it and Debian's noVNC are here; else the test skips
    /// naming the package to install.
    static func requireChromiumAndNoVNC() throws -> String {
        let chromium = try requireTool(anyOf: ["chromium-headless-shell", "chromium"], install: "apt-get install chromium-headless-shell")
        try requireFile("/usr/share/novnc/vnc.html", install: "apt-get install novnc")
        return chromium
    }

    /// Runs `chromium` with `arguments` (a budget flag is added) until `look` returns a value.
    static func lookUntilFound<T>(_ chromium: String, _ arguments: [String], tries: Int = 8, seconds: Double = 240,
                                  file: StaticString = #filePath, line: UInt = #line,
                                  _ look: (Run) throws -> T?) throws -> (found: T?, last: Run, tries: Int) {
        let deadline = Date(timeIntervalSinceNow: seconds)
        var last: Run = (0, "", "")
        for attempt in 0..<tries {
            let budget = budgets[min(attempt, budgets.count - 1)]
            last = try runProgram(URL(fileURLWithPath: chromium), ["--no-sandbox", "--disable-gpu", "--virtual-time-budget=\(budget)"] + arguments,
                                  timeout: 120, file: file, line: line)
            XCTAssertEqual(last.status, 0, last.err.suffix(2000).description, file: file, line: line)
            if let found = try look(last) { return (found, last, attempt + 1) }
            if Date() > deadline { return (nil, last, attempt + 1) }
        }
        return (nil, last, tries)
    }
}
