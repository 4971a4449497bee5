/// Why the desktop window could not be opened or drawn. Each case's text is the line the
/// user sees; the CLI adds its suggestion.
public enum WindowError: Error, Equatable, CustomStringConvertible {
    /// SDL could not start its video subsystem: no display server, or DISPLAY names none.
    case videoUnavailable(display: String?, reason: String)
    /// The display server refused the window.
    case windowFailed(String)
    /// The window surface could not be had or pushed to the screen (also: a display that
    /// is not 24/32-bit).
    case presentFailed(String)

    public var description: String {
        switch self {
        case .videoUnavailable(let display, let reason):
            let which = display.map { "DISPLAY=\($0)" } ?? "DISPLAY is not set"
            return "cannot open a window (\(which)): \(reason)"
        case .windowFailed(let reason):
            return "cannot open a window: \(reason)"
        case .presentFailed(let reason):
            return "cannot draw the window: \(reason)"
        }
    }
}
