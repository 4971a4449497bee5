/// What the user asked of the window, for its owner to carry out. The window handles
/// resizing, full screen and the show-dirty toggle itself.
public enum WindowCommand: Equatable, Sendable {
    /// The window was closed, or Esc or Q pressed: stop the guest.
    case quit
    /// S or F12: save a screenshot of the guest screen.
    case screenshot
}
