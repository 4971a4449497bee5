/// What the user asked of the window, for its owner to carry out. The window handles
/// resizing, full screen and the show-dirty toggle itself. Window shortcuts are Ctrl+Alt
/// plus a key (as QEMU's are), so that every plain key goes to the guest.
public enum WindowCommand: Equatable, Sendable {
    /// The window was closed, or Ctrl+Alt+Q pressed: stop the guest.
    case quit
    /// Ctrl+Alt+S: save a screenshot of the guest screen (`DesktopWindow.screen`).
    case screenshot
    /// Ctrl+Alt+M: migrate the guest now (to the `--migrate-to` destination).
    case migrate
}
