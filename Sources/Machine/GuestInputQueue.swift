import Input
import Synchronization
internal import CGuestABI

/// The producer side of the guest's input queue (`struct rs_input_queue` in the ABI header,
/// one RAM page at `GuestLayout.inputQueue`). Any thread may `push`; events go into the ring
/// through the tracked write API (so migration and the no-loss check see them like any other
/// write). When the ring is full, events wait here in order: key and button events are never
/// dropped, and a pointer motion waiting behind the full ring is replaced by the newest one.
/// The machine calls `deliver()` at every frame doorbell, so waiting events move as soon as
/// the guest has made room.
public final class GuestInputQueue: InputSink, Sendable {
    /// Counts since boot: what reached the ring, what was coalesced away, the longest wait list.
    public struct Stats: Equatable, Sendable {
        public var delivered = 0
        public var coalescedMotions = 0
        public var maxWaiting = 0
        /// Times the guest's `tail` was outside [head - capacity, head] (a broken guest).
        public var badTail = 0
    }

    public static let capacity = Int(RS_INPUT_QUEUE_EVENTS)
    static let headOffset = UInt64(MemoryLayout<rs_input_queue>.offset(of: \rs_input_queue.head)!)
    static let tailOffset = UInt64(MemoryLayout<rs_input_queue>.offset(of: \rs_input_queue.tail)!)
    static let flagsOffset = UInt64(MemoryLayout<rs_input_queue>.offset(of: \rs_input_queue.guest_flags)!)
    static let eventsOffset = UInt64(MemoryLayout<rs_input_queue>.offset(of: \rs_input_queue.events)!)

    /// Guest-physical addresses of the ring's indices (for tests and probes that play the guest).
    public static let headAddress = GuestLayout.inputQueue + headOffset
    public static let tailAddress = GuestLayout.inputQueue + tailOffset

    private let writer: GuestWriter
    private let base: UInt64
    private let state: Mutex<Pending>

    /// The producer's side of the ring and the events waiting for room in it.
    private struct Pending {
        var head: UInt32
        /// The pointer position of the last event written: button events carry it (`x, y: where`).
        var pointer: (x: Int32, y: Int32)
        var waiting: [InputEvent] = []
        var waitingStart = 0
        var counts = Stats()
        var held = false
    }

    init(writer: GuestWriter, base: UInt64 = GuestLayout.inputQueue) {
        self.writer = writer
        self.base = base
        // A restored or incoming guest carries its queue in RAM: continue from its head.
        let head = writer.loadAcquire(at: base + Self.headOffset)
        state = Mutex(Pending(head: head, pointer: Self.lastPointer(in: writer, base: base, head: head)))
    }

    /// The position of the newest pointer or button event still in the ring (0, 0 if none),
    /// so buttons pushed after a restore carry where the pointer was.
    private static func lastPointer(in writer: GuestWriter, base: UInt64, head: UInt32) -> (Int32, Int32) {
        var event = rs_input_event()
        let stride = UInt64(MemoryLayout<rs_input_event>.stride)
        for back in 1...UInt32(capacity) { // slots never written have type 0
            let slot = UInt64((head &- back) % UInt32(capacity))
            withUnsafeMutableBytes(of: &event) { writer.read(into: $0, from: base + eventsOffset + slot * stride) }
            if event.type == UInt16(RS_INPUT_POINTER) || event.type == UInt16(RS_INPUT_BUTTON) { return (event.x, event.y) }
        }
        return (0, 0)
    }

    /// Writes an empty queue's header. Boot only (a restored guest keeps its own).
    static func format(with writer: GuestWriter, base: UInt64 = GuestLayout.inputQueue) {
        writer.store(UInt32(RS_INPUT_QUEUE_MAGIC), at: base)
        writer.store(UInt32(RS_INPUT_QUEUE_EVENTS), at: base + 4)
    }

    public func push(_ event: InputEvent) {
        state.withLock { p in
            if event.isMotion, p.waiting.count > p.waitingStart, p.waiting.last!.isMotion {
                p.waiting[p.waiting.count - 1] = event
                p.counts.coalescedMotions += 1
            } else {
                p.waiting.append(event)
            }
            deliver(&p)
            p.counts.maxWaiting = max(p.counts.maxWaiting, p.waiting.count - p.waitingStart)
        }
    }

    /// While held, pushed events wait here and nothing is written into the ring: a migration
    /// source holds the queue from its last round of pages to the hand-over, so no event can
    /// land in a page already sent (the waiting ones travel in the device state instead).
    public func setHeld(_ held: Bool) {
        state.withLock { p in
            p.held = held
            if !held { deliver(&p) }
        }
    }

    /// A migration destination or a restored snapshot: takes over the ring as the guest's RAM
    /// now holds it, and `events` (waiting at the source, oldest first) ahead of anything
    /// pushed here, then delivers what fits.
    public func restoreWaiting(_ events: [InputEvent]) {
        state.withLock { p in
            p.head = writer.loadAcquire(at: base + Self.headOffset)
            p.pointer = Self.lastPointer(in: writer, base: base, head: p.head)
            p.waiting = events + p.waiting[p.waitingStart...]
            p.waitingStart = 0
            p.counts.maxWaiting = max(p.counts.maxWaiting, p.waiting.count)
            deliver(&p)
        }
    }

    /// Moves waiting events into the ring as far as the guest has made room.
    public func deliver() { state.withLock { deliver(&$0) } }

    /// Events waiting for room in the ring, oldest first.
    public var waitingEvents: [InputEvent] { state.withLock { Array($0.waiting[$0.waitingStart...]) } }

    public var stats: Stats { state.withLock { $0.counts } }

    /// The guest's `RS_GUEST_*` flags (0 until the guest sets them).
    public var guestFlags: UInt32 { writer.loadAcquire(at: base + Self.flagsOffset) }
    public var guestReadsInput: Bool { guestFlags & UInt32(RS_GUEST_READS_INPUT) != 0 }
    public var guestFollowsDisplaySize: Bool { guestFlags & UInt32(RS_GUEST_FOLLOWS_DISPLAY_SIZE) != 0 }

    /// Moves waiting events into the ring as far as the guest has made room (under the lock).
    private func deliver(_ p: inout Pending) {
        guard !p.held, p.waiting.count > p.waitingStart else { return }
        let tail = writer.loadAcquire(at: base + Self.tailOffset)
        var used = Int(p.head &- tail)
        if used < 0 || used > Self.capacity {
            // The guest wrote a tail we never gave it: treat the ring as full until it recovers.
            p.counts.badTail += 1
            used = Self.capacity
        }
        var wrote = false
        while used < Self.capacity, p.waiting.count > p.waitingStart {
            write(p.waiting[p.waitingStart], slot: Int(p.head % UInt32(Self.capacity)), pointer: &p.pointer)
            p.waitingStart += 1
            p.head &+= 1
            used += 1
            p.counts.delivered += 1
            wrote = true
        }
        if p.waitingStart == p.waiting.count {
            p.waiting.removeAll(keepingCapacity: true)
            p.waitingStart = 0
        } else if p.waitingStart > 1024 {
            p.waiting.removeFirst(p.waitingStart)
            p.waitingStart = 0
        }
        if wrote { writer.storeRelease(p.head, at: base + Self.headOffset) }
    }

    /// The ABI's fields for `event` (`struct rs_input_event`: type, code, value, x, y); a
    /// button's x, y are filled in when it is written.
    public static func abiFields(_ event: InputEvent) -> (type: UInt16, code: UInt16, value: Int32, x: Int32, y: Int32) {
        switch event {
        case .key(let code, let down): (UInt16(RS_INPUT_KEY), code, down ? 1 : 0, 0, 0)
        case .keyRepeat(let code): (UInt16(RS_INPUT_KEY), code, 2, 0, 0)
        case .pointer(let x, let y): (UInt16(RS_INPUT_POINTER), 0, 0, x, y)
        case .button(let b, let down): (UInt16(RS_INPUT_BUTTON), b.rawValue, down ? 1 : 0, 0, 0)
        case .wheel(let v, let h): (UInt16(RS_INPUT_WHEEL), 0, v, h, 0)
        case .displaySize(let w, let h): (UInt16(RS_INPUT_DISPLAY_SIZE), 0, 0, w, h)
        }
    }

    /// The event the ABI's fields describe, or nil for an unknown type or button (bytes from
    /// a migration stream are not trusted).
    public static func event(type: UInt16, code: UInt16, value: Int32, x: Int32, y: Int32) -> InputEvent? {
        switch UInt32(type) {
        case RS_INPUT_KEY: return value == 2 ? .keyRepeat(code: code) : value == 0 || value == 1 ? .key(code: code, down: value == 1) : nil
        case RS_INPUT_POINTER: return .pointer(x: x, y: y)
        case RS_INPUT_BUTTON:
            guard let b = PointerButton(rawValue: code), value == 0 || value == 1 else { return nil }
            return .button(b, down: value == 1)
        case RS_INPUT_WHEEL: return .wheel(vertical: value, horizontal: x)
        case RS_INPUT_DISPLAY_SIZE: return .displaySize(width: x, height: y)
        default: return nil
        }
    }

    private func write(_ event: InputEvent, slot: Int, pointer: inout (x: Int32, y: Int32)) {
        var e = rs_input_event()
        (e.type, e.code, e.value, e.x, e.y) = Self.abiFields(event)
        switch event {
        case .pointer(let x, let y): pointer = (x, y)
        case .button: (e.x, e.y) = pointer
        default: break
        }
        let gpa = base + Self.eventsOffset + UInt64(slot * MemoryLayout<rs_input_event>.stride)
        withUnsafeBytes(of: &e) { writer.copy($0, to: gpa) }
    }
}
