import Foundation
import TestSupport
import Window
import XCTest

extension DesktopWindow {
    /// Keeps the window's events moving and presents, taking screenshots until `shown` says
    /// the screen has what the test waits for, at most `timeout` seconds (an X server on a
    /// loaded host maps and exposes a new window when it gets to it). Returns the last one.
    func screenshot(on screen: XvfbScreen, timeout: Double = 60, savingTo png: String? = nil,
                    until shown: (Screenshot) -> Bool) throws -> Screenshot {
        let deadline = Date(timeIntervalSinceNow: timeout)
        // A few frames first, as a window needs to map and repaint: usually the first look
        // then finds the picture (each look is a screenshot and a compare, slow in debug).
        for _ in 0..<8 {
            _ = pollCommands(waitingUpTo: 0.03)
            try present()
        }
        while true {
            _ = pollCommands(waitingUpTo: 0.01)
            try present()
            let shot = try screen.capture()
            if shown(shot) || Date() >= deadline {
                if let png { _ = try? screen.capture(savingTo: png) }
                return shot
            }
        }
    }
}
