import Foundation
import Tracking

extension RunCommand {
    /// One `ringside: warning: ...` line on stderr for each option given that this run will
    /// not use, saying why; the run goes on. (A repeated option is refused outright, by
    /// `UsageErrors.repeatedOption`.)
    func warnAboutIgnoredOptions() throws {
        for line in try ignoredOptionWarnings(environment: ProcessInfo.processInfo.environment) {
            Console.error("warning: " + line)
        }
    }

    func ignoredOptionWarnings(environment: [String: String]) throws -> [String] {
        var lines: [String] = []
        let mode = try tracking.mode()
        if tracking.ringEntriesOption != nil && mode != .ring && mode != .auto {
            lines.append("--ring-entries has no effect with --tracking \(mode.rawValue): only --tracking ring uses a dirty ring")
        }
        // The same decision RunSession makes about opening a window.
        let noWindow: String?
        if headless {
            noWindow = "--headless"
        } else if output.png != nil {
            noWindow = "--png (PNG files, no window)"
        } else if environment["DISPLAY"] == nil && environment["WAYLAND_DISPLAY"] == nil {
            noWindow = "no display (DISPLAY is not set)"
        } else {
            noWindow = nil
        }
        if let noWindow {
            if output.showDirty { lines.append("--show-dirty has no effect with \(noWindow): it tints the window, and PNG files show the plain screen") }
            if output.nearest { lines.append("--nearest has no effect with \(noWindow): it scales the window") }
            if output.showSplit && output.png == nil {
                lines.append("--show-split has no effect with \(noWindow) and no --png: it draws in the window or in the PNG files")
            }
        }
        if common.refreshOption != nil && output.png != nil && (output.pngEvery != nil || output.pngOnChange) {
            let policy = output.pngEvery != nil ? "--png-every" : "--png-on-change"
            lines.append("--refresh has no effect with \(policy): each guest frame is harvested at its doorbell instead")
        }
        return lines
    }
}
