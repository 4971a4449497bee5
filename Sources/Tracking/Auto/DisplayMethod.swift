/// How `--tracking auto` keeps the framebuffer at any moment.
public enum DisplayMethod: String, Sendable {
    /// KVM logs the framebuffer slot; only dirty pages are copied.
    case logged
    /// The slot is not logged; every sync finds the changed tiles by comparing (stopping at
    /// the count where logging could no longer win) and copies the rest of the frame whole.
    /// Printed as `full` (`--stats`, the split view's caption, the bench's notes), as before.
    case unlogged = "full"
}
