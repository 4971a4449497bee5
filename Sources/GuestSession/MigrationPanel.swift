import Display
import Machine
import SplitView
import Synchronization
import Tracking

/// The split view's migration panel.
public enum MigrationPanel {
    /// The machine's slots as panel rows of the migration list, lit by the pages in `pages`.
    /// The framebuffer slot is drawn only as far as the mode in force uses it (the slot is
    /// reserved for the largest mode the guest may set).
    public static func slots(of machine: Machine, lit pages: MigrationPageSet) -> [PageMapSlot] {
        let framePages = (machine.displayMode.mode.byteCount + GuestLayout.pageSize - 1) / GuestLayout.pageSize
        return machine.slots.map { slot in
            let words = pages[slot: slot.id]?.words ?? [UInt64](repeating: 0, count: (slot.pageCount + 63) / 64)
            let shown = slot.id == GuestLayout.framebufferSlot ? min(slot.pageCount, framePages) : slot.pageCount
            return PageMapSlot(name: "\(slot.name) (slot \(slot.id))", pageCount: shown, litWords: words)
        }
    }
}

/// The latest news of an outgoing migration (connecting, each round, the hand-over, a
/// failure), for the split view's caption and the window; set from the migration task.
public final class MigrationStatus: Sendable {
    /// The line before the first attempt.
    public static let waiting = "migration: waiting to start"
    private let text = Mutex<String?>(nil)

    public var line: String? { text.withLock { $0 } }

    func set(_ line: String) { text.withLock { $0 = line } }
}
