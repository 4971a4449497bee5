// Ringside guest runtime: the input reader and a US keyboard map (README.md, "Input").
//
// The VMM produces events into `struct rs_input_queue` (ABI header); the guest consumes them
// once per frame, at the start of the frame, so a picture stays a function of the arguments,
// the geometry, the frame number and the events delivered so far.
//
// Several vCPUs: only vCPU 0 touches the VMM's queue. At the start of frame n it copies the
// queue's new events into a log in the image's .bss (rt.c, `rs_input_log`) and publishes
// "frame n is logged"; every vCPU (0 included) then reads frame n's events from the log, so
// all of them apply the same events at the same frame and draw consistent bands. A vCPU other
// than 0 that starts frame n before vCPU 0 has logged it spins (pause) until it has; vCPU 0
// waits for any vCPU more than `logFrames - 1` frames behind before it reuses that vCPU's
// unread log space. Neither wait can deadlock under the VMM's frame limit or lockstep: vCPU 0
// logs frame n before drawing it, and a vCPU behind only needs frames vCPU 0 already logged.
//
// Following the host's window (`follows`): vCPU 0 announces RS_GUEST_FOLLOWS_DISPLAY_SIZE, and
// when frame n's events include RS_INPUT_DISPLAY_SIZE it sets the newest size through DISPI
// before it publishes frame n, after every other vCPU has started frame n (so none is still
// drawing frame n - 1 in the old geometry). Every vCPU then reads its boot info after frame n
// is published and, if the geometry changed, calls `resized` before any of frame n's events:
// all of them draw the whole of frame n in the new mode.

@_extern(c, "rs_input_log") func rs_input_log() -> UnsafeMutableRawPointer
@_extern(c, "rs_input_log_size") func rs_input_log_size() -> UInt
@_extern(c, "rs_load_acquire_u32") func rs_load_acquire_u32(_ p: UnsafePointer<UInt32>) -> UInt32
@_extern(c, "rs_store_release_u32") func rs_store_release_u32(_ p: UnsafeMutablePointer<UInt32>, _ v: UInt32)
@_extern(c, "rs_load_acquire_u64") func rs_load_acquire_u64(_ p: UnsafePointer<UInt64>) -> UInt64
@_extern(c, "rs_store_release_u64") func rs_store_release_u64(_ p: UnsafeMutablePointer<UInt64>, _ v: UInt64)
@_extern(c, "rs_pause") func rs_pause()

/// One event as the ABI defines it (`type` is RS_INPUT_*).
typealias InputEvent = rs_input_event

let inputKey = UInt16(RS_INPUT_KEY)
let inputPointer = UInt16(RS_INPUT_POINTER)
let inputButton = UInt16(RS_INPUT_BUTTON)
let inputWheel = UInt16(RS_INPUT_WHEEL)
let inputDisplaySize = UInt16(RS_INPUT_DISPLAY_SIZE)
let buttonLeft = UInt16(RS_BUTTON_LEFT)
let buttonRight = UInt16(RS_BUTTON_RIGHT)
let buttonMiddle = UInt16(RS_BUTTON_MIDDLE)

/// True when frame `a` is at or after frame `b` (frame numbers compared modulo 2^32).
@inline(__always) func frameAtOrAfter(_ a: UInt32, _ b: UInt32) -> Bool { Int32(bitPattern: a &- b) >= 0 }

extension Guest {
    /// This vCPU's band of the framebuffer in the geometry `boot` describes (after a mode set).
    func band(_ boot: BootInfo) -> Framebuffer {
        let h = boot.height
        return Framebuffer(
            base: UnsafeMutableRawPointer(bitPattern: UInt(boot.framebufferAddress))!,
            width: boot.width, height: h, pitch: boot.pitch,
            bandTop: cpu * h / cpus, bandBottom: (cpu + 1) * h / cpus)
    }
}

/// This vCPU's reader of the guest's input. Create one per vCPU (it holds this vCPU's read
/// position) and call `frame(n)` once at the start of every frame n.
struct Input {
    // The log in rt.c's shared memory (offsets in bytes):
    //   0            u32 published: the last frame whose events are all in the log (vCPU 0)
    //   64 + 4*i     u32 done[i]: vCPU i has applied every event of frames <= done[i]
    //   128 + 4*i    u32 begun[i]: vCPU i has finished drawing frame begun[i] - 1 (when following)
    //   256 + 8*k    u64 end[k]: log index after frame f's events, k = f % logFrames
    //   4096 + 16*j  events, j = log index % logEvents
    static let logFrames = 16
    static let queueEvents = Int(RS_INPUT_QUEUE_EVENTS)
    static let logEvents = logFrames * queueEvents  // a frame adds at most queueEvents
    static let eventsOffset = 4096

    let log: UnsafeMutableRawPointer
    /// The VMM's queue: vCPU 0 only, nil when absent or malformed (input is then ignored).
    let queue: UnsafeMutableRawPointer?
    let cpu: Int
    let cpus: Int
    let name: StaticString
    /// false: the guest was told `input=0`; `frame` then does nothing (no queue, no waiting).
    let enabled: Bool
    /// This vCPU's boot info when the guest follows the host's window (display-size events
    /// become mode sets), else nil; and the geometry last reported to the guest.
    let raw: UnsafeRawPointer?
    var follows: Bool { raw != nil }
    var width: Int, height: Int, pitch: Int
    /// Log index after the last event this vCPU has read.
    var read: UInt64 = 0
    /// vCPU 0: events logged so far.
    var logged: UInt64 = 0
    var warnedBadHead = false

    /// `bootInfo`: this vCPU's boot-info block (the `_start` argument); given, the guest
    /// follows the host's window (display-size events become mode sets).
    init(_ g: Guest, enabled: Bool = true, bootInfo: UnsafeRawPointer? = nil) {
        log = rs_input_log()
        cpu = g.cpu
        cpus = min(g.cpus, Int(RS_MAX_VCPUS))
        name = g.name
        self.enabled = enabled
        raw = enabled ? bootInfo : nil
        width = g.boot.width
        height = g.boot.height
        pitch = g.boot.pitch
        precondition(Input.eventsOffset + Input.logEvents * 16 <= Int(rs_input_log_size()))
        if cpu != 0 || !enabled { queue = nil; return }
        let address = g.boot.inputQueueAddress
        var q: UnsafeMutableRawPointer? = nil
        if address != 0 && address % 4096 == 0 && address &+ 4096 <= g.boot.ramSize && address < RS_IMAGE_BASE {
            let p = UnsafeMutableRawPointer(bitPattern: UInt(address))!
            if p.load(as: UInt32.self) == RS_INPUT_QUEUE_MAGIC && p.load(fromByteOffset: 4, as: UInt32.self) == RS_INPUT_QUEUE_EVENTS {
                q = p
            }
        }
        queue = q
        if let q {
            // Tell the VMM someone is listening (guest_flags is the guest's word).
            let flags = q.assumingMemoryBound(to: UInt32.self) + 2
            let follow = follows ? UInt32(RS_GUEST_FOLLOWS_DISPLAY_SIZE) : 0
            rs_store_release_u32(flags, rs_load_acquire_u32(flags) | RS_GUEST_READS_INPUT | follow)
        } else {
            Console.line {
                Console.write(g.name)
                Console.write(": warning: no input queue at ")
                Console.writeHex(address)
                Console.write(" (input ignored)")
            }
        }
    }

    @inline(__always) func word(_ offset: Int) -> UnsafeMutablePointer<UInt32> {
        (log + offset).assumingMemoryBound(to: UInt32.self)
    }

    @inline(__always) func end(_ frame: UInt32) -> UnsafeMutablePointer<UInt64> {
        (log + 256 + 8 * Int(frame % UInt32(Input.logFrames))).assumingMemoryBound(to: UInt64.self)
    }

    /// One step of waiting for another vCPU: `pause` for a while, then ask the VMM to yield
    /// the host CPU (the vCPU we wait for may be a thread that is not running right now).
    @inline(__always) func relax(_ spins: inout Int) {
        spins += 1
        if spins < 64 { rs_pause() } else { rs_outb(UInt16(RS_PORT_YIELD), 0) }
    }

    /// Calls `body` with every event delivered before frame `n` started and not yet seen, in
    /// order. Every vCPU sees the same events at the same frame. Call once per frame, first.
    /// With `followsDisplaySize`, `resized` gets the new boot info first when a mode set took
    /// effect at this frame (README.md, "Mode setting").
    mutating func frame(_ n: UInt32, resized: (BootInfo) -> Void = { _ in }, _ body: (InputEvent) -> Void) {
        if !enabled { return }
        if cpu == 0 { logQueue(n) } else {
            // Frame n - 1 is drawn: vCPU 0 may change the mode now (its wait is in logQueue).
            if follows { rs_store_release_u32(word(128 + 4 * cpu), n) }
            var spins = 0
            while !frameAtOrAfter(rs_load_acquire_u32(word(0)), n) { relax(&spins) }
        }
        if let raw {
            let boot = BootInfo(raw)
            if boot.width != width || boot.height != height || boot.pitch != pitch {
                width = boot.width
                height = boot.height
                pitch = boot.pitch
                resized(boot)
            }
        }
        let stop = rs_load_acquire_u64(end(n))
        let events = (log + Input.eventsOffset).assumingMemoryBound(to: InputEvent.self)
        while read < stop {
            body(events[Int(read % UInt64(Input.logEvents))])
            read &+= 1
        }
        rs_store_release_u32(word(64 + 4 * cpu), n)
    }

    /// vCPU 0: moves the queue's new events into the log as frame `n`'s and publishes them.
    private mutating func logQueue(_ n: UInt32) {
        // The log holds frames n - logFrames + 1 ... n: wait until nobody still needs older ones.
        let oldest = n &- UInt32(Input.logFrames - 1)
        if cpus > 1 {
            for k in 1..<cpus {
                var spins = 0
                while !frameAtOrAfter(rs_load_acquire_u32(word(64 + 4 * k)), oldest) { relax(&spins) }
            }
        }
        if let q = queue {
            let head = rs_load_acquire_u32((q + 64).assumingMemoryBound(to: UInt32.self))
            let tailWord = (q + 128).assumingMemoryBound(to: UInt32.self)
            let tail = rs_load_acquire_u32(tailWord)
            let available = head &- tail
            if available > UInt32(Input.queueEvents) {
                // A head the VMM cannot have written: read nothing and leave tail alone; the
                // VMM's next publish writes its own head again, and reading resumes from there.
                if !warnedBadHead {
                    warnedBadHead = true
                    Console.line {
                        Console.write(name)
                        Console.write(": warning: input queue head ")
                        Console.writeUnsigned(UInt64(head))
                        Console.write(" is more than a queue ahead of tail ")
                        Console.writeUnsigned(UInt64(tail))
                        Console.write(" (ignored until the VMM publishes a valid head)")
                    }
                }
            } else {
                let ring = (q + 192).assumingMemoryBound(to: InputEvent.self)
                let events = (log + Input.eventsOffset).assumingMemoryBound(to: InputEvent.self)
                var i: UInt32 = 0
                var wantWidth: Int32 = 0, wantHeight: Int32 = 0
                while i < available {
                    let e = ring[Int((tail &+ i) % UInt32(Input.queueEvents))]
                    events[Int(logged % UInt64(Input.logEvents))] = e
                    if e.type == inputDisplaySize { wantWidth = e.x; wantHeight = e.y }
                    logged &+= 1
                    i &+= 1
                }
                rs_store_release_u32(tailWord, head)
                if follows && (wantWidth != 0 || wantHeight != 0) { setMode(n, wantWidth, wantHeight) }
            }
        }
        rs_store_release_u64(end(n), logged)
        rs_store_release_u32(word(0), n)
    }

    /// vCPU 0, at the start of frame `n`: once every vCPU has finished frame n - 1, asks for
    /// `w` x `h` (the VMM refuses what it cannot show, then the old mode stays).
    private func setMode(_ n: UInt32, _ w: Int32, _ h: Int32) {
        if cpus > 1 {
            for k in 1..<cpus {
                var spins = 0
                while !frameAtOrAfter(rs_load_acquire_u32(word(128 + 4 * k)), n) { relax(&spins) }
            }
        }
        _ = Dispi.setMode(UInt32(bitPattern: w), UInt32(bitPattern: h))
    }
}

// MARK: - Keyboard: Linux evdev key codes (input-event-codes.h), US layout

let keyBackspace: UInt16 = 14
let keyTab: UInt16 = 15
let keyEnter: UInt16 = 28
let keyLeftCtrl: UInt16 = 29
let keyLeftShift: UInt16 = 42
let keyRightShift: UInt16 = 54
let keyCapsLock: UInt16 = 58
let keyKeypadEnter: UInt16 = 96
let keyRightCtrl: UInt16 = 97
let keyDelete: UInt16 = 111

/// Characters of evdev codes 0..83 on a US keyboard, without and with Shift (0: no character).
/// 1 Esc = 27, 14 Backspace = 8, 15 Tab = 9, 28 Enter = 10; 71..83 the keypad (digits, - + . *).
let keyCharacters: [UInt8] = [
    0, 27, 49, 50, 51, 52, 53, 54, 55, 56, 57, 48, 45, 61, 8, 9,  // 0..15: Esc 1-0 - = BS Tab
    113, 119, 101, 114, 116, 121, 117, 105, 111, 112, 91, 93, 10, 0,  // 16..29: q-p [ ] Enter LCtrl
    97, 115, 100, 102, 103, 104, 106, 107, 108, 59, 39, 96, 0, 92,  // 30..43: a-l ; ' ` LShift backslash
    122, 120, 99, 118, 98, 110, 109, 44, 46, 47, 0, 42, 0, 32, 0,  // 44..58: z-m , . / RShift KP* LAlt Space Caps
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  // 59..70: F1-F10 NumLock ScrollLock
    55, 56, 57, 45, 52, 53, 54, 43, 49, 50, 51, 48, 46,  // 71..83: keypad 7 8 9 - 4 5 6 + 1 2 3 0 .
]
let keyCharactersShifted: [UInt8] = [
    0, 27, 33, 64, 35, 36, 37, 94, 38, 42, 40, 41, 95, 43, 8, 9,  // ! @ # $ % ^ & * ( ) _ +
    81, 87, 69, 82, 84, 89, 85, 73, 79, 80, 123, 125, 10, 0,  // Q-P { }
    65, 83, 68, 70, 71, 72, 74, 75, 76, 58, 34, 126, 0, 124,  // A-L : " ~ |
    90, 88, 67, 86, 66, 78, 77, 60, 62, 63, 0, 42, 0, 32, 0,  // Z-M < > ?
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    55, 56, 57, 45, 52, 53, 54, 43, 49, 50, 51, 48, 46,
]

/// Turns key events into characters: tracks Shift, Ctrl and Caps Lock.
struct Keyboard {
    var shiftLeft = false
    var shiftRight = false
    var ctrlLeft = false
    var ctrlRight = false
    var capsLock = false

    var ctrl: Bool { ctrlLeft || ctrlRight }

    /// For a key event: updates the modifiers and returns the character a press (value 1)
    /// or auto-repeat (value 2) types, or 0 (a release, a modifier, a key without a
    /// character). Keypad Enter is 10, Delete is 127; with Ctrl held nothing is typed.
    mutating func character(_ e: InputEvent) -> UInt8 {
        if e.type != inputKey { return 0 }
        let down = e.value != 0
        switch e.code {
        case keyLeftShift: shiftLeft = down; return 0
        case keyRightShift: shiftRight = down; return 0
        case keyLeftCtrl: ctrlLeft = down; return 0
        case keyRightCtrl: ctrlRight = down; return 0
        case keyCapsLock: if e.value == 1 { capsLock.toggle() }; return 0
        default: break
        }
        if !down || ctrl { return 0 }
        if e.code == keyKeypadEnter { return 10 }
        if e.code == keyDelete { return 127 }
        let i = Int(e.code)
        if i >= keyCharacters.count { return 0 }
        var shift = shiftLeft || shiftRight
        let plain = keyCharacters[i]
        if capsLock && plain >= 97 && plain <= 122 { shift.toggle() }
        return shift ? keyCharactersShifted[i] : plain
    }
}
