// Ringside guest runtime, Swift part. Compiled into every guest in the same -wmo
// module (see build.sh). Implements the guest ABI of README.md: boot-info block,
// ports, framebuffer, arguments, plus drawing helpers shared by the guests.
//
// Rules for code in guests: no mutable globals (several vCPUs run the same image
// at once; keep state in locals), no clocks, no String (keeps images small).

@_extern(c, "rs_outb") func rs_outb(_ port: UInt16, _ value: UInt8)
@_extern(c, "rs_outl") func rs_outl(_ port: UInt16, _ value: UInt32)
@_extern(c, "rs_ud2") func rs_ud2_c()
@_extern(c, "rs_poke") func rs_poke(_ address: UInt64, _ value: UInt8)
@_extern(c, "rs_console_lock") func rs_console_lock()
@_extern(c, "rs_console_unlock") func rs_console_unlock()

// Ports, the boot-info block and its numbers come from the ABI header the VMM compiles too
// (Sources/CGuestABI/include/ringside_abi.h, imported by build.sh as a bridging header).
let portConsole = UInt16(RS_PORT_CONSOLE)
let portDoorbell = UInt16(RS_PORT_DOORBELL)
let portExit = UInt16(RS_PORT_EXIT)

/// Executes ud2: with no IDT the vCPU triple-faults (KVM_EXIT_SHUTDOWN).
func rs_ud2() -> Never {
    while true { rs_ud2_c() }
}

/// Tells the VMM that frame `n` (1, 2, 3 ...) of this vCPU is complete.
@inline(__always) func doorbell(_ n: UInt32) { rs_outl(portDoorbell, n) }

/// Asks the VMM to exit with `status` (it exits with `(status << 1) | 1`).
func exitGuest(_ status: UInt32) -> Never {
    rs_outl(portExit, status)
    rs_ud2()  // not reached when the VMM honours the exit port
}

// MARK: - Boot info

struct BootInfo {
    static let expectedMagic = UInt32(RS_BOOT_INFO_MAGIC)
    static let formatXRGB8888 = UInt32(RS_FORMAT_XRGB8888)

    let info: rs_boot_info
    init(_ raw: UnsafeRawPointer) { info = raw.load(as: rs_boot_info.self) }

    var magic: UInt32 { info.magic }
    var version: UInt32 { info.version }
    var framebufferAddress: UInt64 { info.framebuffer_gpa }
    var framebufferSize: UInt64 { info.framebuffer_size }
    var width: Int { Int(info.width) }
    var height: Int { Int(info.height) }
    var pitch: Int { Int(info.pitch) }
    var format: UInt32 { info.format }
    var cpuIndex: Int { Int(info.cpu_index) }
    var cpuCount: Int { Int(info.cpu_count) }
    var argumentsAddress: UInt64 { info.arguments_gpa }
    var argumentsLength: Int { Int(info.arguments_length) }
    var countersAddress: UInt64 { info.counters_gpa }
    var ramSize: UInt64 { info.ram_size }
    var heapAddress: UInt64 { info.heap_gpa }
    var heapSize: UInt64 { info.heap_size }
    var inputQueueAddress: UInt64 { info.input_queue_gpa }
    /// The module table (version >= 3; zero in older versions' blocks).
    var modulesAddress: UInt64 { info.modules_gpa }
    var moduleCount: Int { Int(info.module_count) }
    /// The cursor plane (version >= 4; zero in older versions' blocks).
    var cursorAddress: UInt64 { info.cursor_gpa }
}

// MARK: - Console (port 0xE9)

enum Console {
    @inline(__always) static func byte(_ b: UInt8) { rs_outb(portConsole, b) }

    static func write(_ s: StaticString) {
        s.withUTF8Buffer { for b in $0 { byte(b) } }
    }

    static func write(_ w: Word) {
        for i in 0..<w.count { byte(w.base[i]) }
    }

    static func write(_ v: Int) {
        if v < 0 {
            byte(UInt8(ascii: "-"))
            writeUnsigned(UInt64(0 &- Int64(v)))
        } else {
            writeUnsigned(UInt64(v))
        }
    }

    static func writeUnsigned(_ v: UInt64) {
        var digits: (UInt64, Int) = (1, 1)
        while v / digits.0 >= 10 { digits.0 &*= 10; digits.1 += 1 }
        var d = digits.0
        while d > 0 {
            byte(UInt8(truncatingIfNeeded: (v / d) % 10) &+ 48)
            d /= 10
        }
    }

    static func writeHex(_ v: UInt64) {
        write("0x")
        var started = false
        var shift = 60
        while shift >= 0 {
            let nib = UInt8(truncatingIfNeeded: (v >> UInt64(shift)) & 0xF)
            if nib != 0 || started || shift == 0 {
                started = true
                byte(nib < 10 ? nib &+ 48 : nib &+ 87)
            }
            shift -= 4
        }
    }

    /// Writes one whole line (body, then "\n") while holding the console lock,
    /// so lines of different vCPUs do not interleave.
    static func line(_ body: () -> Void) {
        rs_console_lock()
        body()
        byte(10)
        rs_console_unlock()
    }
}

// MARK: - Arguments: space-separated key=value words

/// A byte range of the argument string.
struct Word {
    let base: UnsafePointer<UInt8>
    let count: Int

    static func == (lhs: Word, rhs: StaticString) -> Bool {
        rhs.withUTF8Buffer { r in
            if r.count != lhs.count { return false }
            for i in 0..<r.count where r[i] != lhs.base[i] { return false }
            return true
        }
    }

    /// Decimal or 0x-prefixed hexadecimal; nil when empty, malformed or > UInt64.max.
    var unsigned: UInt64? {
        if count == 0 { return nil }
        var i = 0
        var radix: UInt64 = 10
        if count > 2 && base[0] == UInt8(ascii: "0") && (base[1] | 0x20) == UInt8(ascii: "x") {
            radix = 16
            i = 2
        }
        var v: UInt64 = 0
        while i < count {
            let c = base[i]
            var d: UInt64
            if c >= 48 && c <= 57 { d = UInt64(c - 48) }
            else if radix == 16 && (c | 0x20) >= 97 && (c | 0x20) <= 102 { d = UInt64((c | 0x20) - 87) }
            else { return nil }
            let (m, o1) = v.multipliedReportingOverflow(by: radix)
            let (s, o2) = m.addingReportingOverflow(d)
            if o1 || o2 { return nil }
            v = s
            i += 1
        }
        return v
    }
}

/// What an argument handler made of one word (a struct, not an enum: an enum's
/// synthesized Hashable would pull the stdlib's hashing, which wants arc4random).
struct ArgumentResult {
    let code: UInt8
    static let ok = ArgumentResult(code: 0)
    static let unknown = ArgumentResult(code: 1)
    static let invalid = ArgumentResult(code: 2)
    static func == (a: ArgumentResult, b: ArgumentResult) -> Bool { a.code == b.code }
    static func != (a: ArgumentResult, b: ArgumentResult) -> Bool { a.code != b.code }
}

/// Calls `handle(key, value)` for every `key=value` word of this vCPU's argument
/// string (a word without '=' has an empty value). vCPU 0 prints a warning line
/// for every word the handler reports as unknown or invalid.
func parseArguments(_ boot: BootInfo, guest: StaticString, _ handle: (Word, Word) -> ArgumentResult) {
    guard let base = UnsafePointer<UInt8>(bitPattern: UInt(boot.argumentsAddress)) else { return }
    let length = boot.argumentsLength
    var i = 0
    while i < length {
        while i < length && (base[i] == 32 || base[i] == 9 || base[i] == 10) { i += 1 }
        if i >= length || base[i] == 0 { break }
        let start = i
        var eq = -1
        while i < length && base[i] != 32 && base[i] != 9 && base[i] != 10 && base[i] != 0 {
            if base[i] == UInt8(ascii: "=") && eq < 0 { eq = i }
            i += 1
        }
        let word = Word(base: base + start, count: i - start)
        let key = Word(base: base + start, count: (eq < 0 ? i : eq) - start)
        let value = eq < 0 ? Word(base: base + i, count: 0) : Word(base: base + eq + 1, count: i - eq - 1)
        let result = handle(key, value)
        if result != .ok && boot.cpuIndex == 0 {
            Console.line {
                Console.write(guest)
                Console.write(result == .unknown ? ": warning: unknown argument '" : ": warning: bad value in '")
                Console.write(word)
                Console.write("' (ignored)")
            }
        }
        if i < length && base[i] == 0 { break }
    }
}

/// Parses `value` as an integer in [lo, hi] into `target`.
func parseInt(_ value: Word, into target: inout Int, _ lo: Int, _ hi: Int) -> ArgumentResult {
    guard let v = value.unsigned, v >= UInt64(lo), v <= UInt64(hi) else { return .invalid }
    target = Int(v)
    return .ok
}

func parseUInt64(_ value: Word, into target: inout UInt64) -> ArgumentResult {
    guard let v = value.unsigned else { return .invalid }
    target = v
    return .ok
}

func parseBool(_ value: Word, into target: inout Bool) -> ArgumentResult {
    if value == "1" || value == "true" || value == "yes" || value == "on" { target = true; return .ok }
    if value == "0" || value == "false" || value == "no" || value == "off" { target = false; return .ok }
    return .invalid
}

// MARK: - PRNG

/// SplitMix64 (Steele, Lea, Flood 2014).
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }

    @inline(__always) mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform-ish in 0..<n (n > 0): next() % n.
    @inline(__always) mutating func below(_ n: Int) -> Int { Int(truncatingIfNeeded: next() % UInt64(n)) }

    /// In lo...hi.
    @inline(__always) mutating func range(_ lo: Int, _ hi: Int) -> Int { hi <= lo ? lo : lo + below(hi - lo + 1) }
}

// MARK: - Framebuffer

@inline(__always) func rgb(_ r: Int, _ g: Int, _ b: Int) -> UInt32 {
    UInt32(truncatingIfNeeded: ((r & 0xFF) << 16) | ((g & 0xFF) << 8) | (b & 0xFF))
}

/// The framebuffer as seen by one vCPU: every drawing call is clipped to the
/// clip rectangle, which is this vCPU's band of rows (all columns) unless
/// narrowed with `clipped(to:)`.
struct Framebuffer {
    let base: UnsafeMutableRawPointer
    let width: Int
    let height: Int
    let pitch: Int  // bytes per row
    var clipLeft: Int
    var clipTop: Int
    var clipRight: Int
    var clipBottom: Int

    init(base: UnsafeMutableRawPointer, width: Int, height: Int, pitch: Int, bandTop: Int, bandBottom: Int) {
        self.base = base
        self.width = width
        self.height = height
        self.pitch = pitch
        clipLeft = 0
        clipRight = width
        clipTop = bandTop
        clipBottom = bandBottom
    }

    /// The same framebuffer with the clip rectangle narrowed to (x, y, w, h).
    func clipped(_ x: Int, _ y: Int, _ w: Int, _ h: Int) -> Framebuffer {
        var f = self
        f.clipLeft = max(clipLeft, x)
        f.clipTop = max(clipTop, y)
        f.clipRight = max(f.clipLeft, min(clipRight, x + w))
        f.clipBottom = max(f.clipTop, min(clipBottom, y + h))
        return f
    }

    var isClipEmpty: Bool { clipLeft >= clipRight || clipTop >= clipBottom }

    @inline(__always) func row(_ y: Int) -> UnsafeMutablePointer<UInt32> {
        (base + y &* pitch).assumingMemoryBound(to: UInt32.self)
    }

    @inline(__always) func contains(_ x: Int, _ y: Int) -> Bool {
        x >= clipLeft && x < clipRight && y >= clipTop && y < clipBottom
    }

    /// Fills the rectangle (clipped).
    func fillRect(_ x: Int, _ y: Int, _ w: Int, _ h: Int, _ color: UInt32) {
        let x0 = max(x, clipLeft), x1 = min(x + w, clipRight)
        let y0 = max(y, clipTop), y1 = min(y + h, clipBottom)
        if x0 >= x1 || y0 >= y1 { return }
        let n = x1 - x0
        var yy = y0
        while yy < y1 {
            (row(yy) + x0).update(repeating: color, count: n)
            yy += 1
        }
    }

    /// A one-pixel frame inside the rectangle.
    func strokeRect(_ x: Int, _ y: Int, _ w: Int, _ h: Int, _ color: UInt32) {
        fillRect(x, y, w, 1, color)
        fillRect(x, y + h - 1, w, 1, color)
        fillRect(x, y, 1, h, color)
        fillRect(x + w - 1, y, 1, h, color)
    }

    /// Vertical gradient from `top` to `bottom` colour over the rectangle (clipped).
    func fillGradient(_ x: Int, _ y: Int, _ w: Int, _ h: Int, _ top: UInt32, _ bottom: UInt32) {
        if h <= 0 { return }
        let y0 = max(y, clipTop), y1 = min(y + h, clipBottom)
        if y0 >= y1 { return }
        for yy in y0..<y1 {
            let t = (yy - y) * 256 / h
            @inline(__always) func mix(_ shift: UInt32) -> Int {
                let a = Int((top >> shift) & 0xFF), b = Int((bottom >> shift) & 0xFF)
                return a + ((b - a) * t) / 256
            }
            fillRect(x, yy, w, 1, rgb(mix(16), mix(8), mix(0)))
        }
    }

    /// Copies rows [y0, y1) of the band up by `dy` rows (memmove of whole rows).
    func scrollUp(_ y0: Int, _ y1: Int, by dy: Int) {
        if dy <= 0 || y1 - y0 <= dy { return }
        let dst = base + y0 * pitch
        (dst).copyMemory(from: base + (y0 + dy) * pitch, byteCount: (y1 - y0 - dy) * pitch)
    }

    // MARK: Text (8x16 bitmap font, Font.swift)

    static let glyphWidth = fontGlyphWidth
    static let glyphHeight = fontGlyphHeight

    /// Draws one character cell; `bg == nil` leaves background pixels untouched.
    @inline(__always)
    func drawGlyph(_ font: UnsafeBufferPointer<UInt8>, _ x: Int, _ y: Int, _ ch: UInt8, _ fg: UInt32, _ bg: UInt32?) {
        let index = (ch >= 0x20 && ch < 0x7F) ? Int(ch) - 0x20 : 0x5F
        let glyph = font.baseAddress! + index * fontGlyphHeight
        let inside = x >= clipLeft && x + 8 <= clipRight && y >= clipTop && y + fontGlyphHeight <= clipBottom
        for r in 0..<fontGlyphHeight {
            let yy = y + r
            if !inside && (yy < clipTop || yy >= clipBottom) { continue }
            let bits = glyph[r]
            let p = row(yy) + x
            if inside {
                if let bg = bg {
                    p[0] = bits & 0x80 != 0 ? fg : bg
                    p[1] = bits & 0x40 != 0 ? fg : bg
                    p[2] = bits & 0x20 != 0 ? fg : bg
                    p[3] = bits & 0x10 != 0 ? fg : bg
                    p[4] = bits & 0x08 != 0 ? fg : bg
                    p[5] = bits & 0x04 != 0 ? fg : bg
                    p[6] = bits & 0x02 != 0 ? fg : bg
                    p[7] = bits & 0x01 != 0 ? fg : bg
                } else if bits != 0 {
                    for c in 0..<8 where bits & (0x80 >> UInt8(c)) != 0 { p[c] = fg }
                }
            } else {
                for c in 0..<8 {
                    let xx = x + c
                    if xx < clipLeft || xx >= clipRight { continue }
                    if bits & (0x80 >> UInt8(c)) != 0 { p[c] = fg } else if let bg = bg { p[c] = bg }
                }
            }
        }
    }

    /// Draws bytes left to right; returns the x after the last character.
    @discardableResult
    func drawText(_ x: Int, _ y: Int, _ bytes: UnsafePointer<UInt8>, _ count: Int, _ fg: UInt32, _ bg: UInt32?) -> Int {
        if y >= clipBottom || y + fontGlyphHeight <= clipTop { return x + count * 8 }
        return fontGlyphs.withUnsafeBufferPointer { font in
            var cx = x
            for i in 0..<count {
                if cx >= clipRight { break }
                if cx > clipLeft - 8 { drawGlyph(font, cx, y, bytes[i], fg, bg) }
                cx += 8
            }
            return cx
        }
    }

    @discardableResult
    func drawText(_ x: Int, _ y: Int, _ text: StaticString, _ fg: UInt32, _ bg: UInt32?) -> Int {
        text.withUTF8Buffer { drawText(x, y, $0.baseAddress!, $0.count, fg, bg) }
    }

    @discardableResult
    func drawText(_ x: Int, _ y: Int, _ text: TextBuffer, _ fg: UInt32, _ bg: UInt32?) -> Int {
        drawText(x, y, UnsafePointer(text.base), text.count, fg, bg)
    }
}

// MARK: - Text buffer (fixed capacity, allocated once)

struct TextBuffer {
    let base: UnsafeMutablePointer<UInt8>
    let capacity: Int
    var count = 0

    init(capacity: Int) {
        base = .allocate(capacity: capacity)
        self.capacity = capacity
    }

    mutating func clear() { count = 0 }

    mutating func append(_ b: UInt8) {
        if count < capacity { base[count] = b; count += 1 }
    }

    mutating func append(_ s: StaticString) {
        s.withUTF8Buffer { for b in $0 { append(b) } }
    }

    /// Decimal, right-aligned in `width` characters padded with `pad`.
    mutating func append(_ v: UInt64, width: Int = 0, pad: UInt8 = 32) {
        var tmp: (UInt64, Int) = (1, 1)
        while v / tmp.0 >= 10 { tmp.0 &*= 10; tmp.1 += 1 }
        var w = tmp.1
        while w < width { append(pad); w += 1 }
        var d = tmp.0
        while d > 0 { append(UInt8(truncatingIfNeeded: (v / d) % 10) &+ 48); d /= 10 }
    }

    mutating func appendHex(_ v: UInt64, digits: Int) {
        var i = digits - 1
        while i >= 0 {
            let nib = UInt8(truncatingIfNeeded: (v >> UInt64(4 * i)) & 0xF)
            append(nib < 10 ? nib &+ 48 : nib &+ 87)
            i -= 1
        }
    }
}

// MARK: - Guest skeleton

struct Guest {
    let boot: BootInfo
    let fb: Framebuffer
    let cpu: Int
    let cpus: Int
    let name: StaticString

    /// Checks the boot-info block and sets up this vCPU's band:
    /// rows [cpu * height / cpus, (cpu + 1) * height / cpus).
    init(_ raw: UnsafeRawPointer, name: StaticString) {
        let boot = BootInfo(raw)
        self.boot = boot
        self.name = name
        // Version 2 is what the runtime needs (the input queue); a newer block only adds fields.
        if boot.magic != BootInfo.expectedMagic || boot.version < 2 || boot.format != BootInfo.formatXRGB8888
            || boot.width == 0 || boot.height == 0 || boot.pitch < boot.width * 4 || boot.cpuCount == 0
            || boot.framebufferSize < UInt64(boot.pitch * boot.height)
        {
            Console.line {
                Console.write(name)
                Console.write(": bad boot info (magic/version/format/geometry)")
            }
            exitGuest(1)
        }
        cpu = boot.cpuIndex
        cpus = boot.cpuCount
        let h = boot.height
        fb = Framebuffer(
            base: UnsafeMutableRawPointer(bitPattern: UInt(boot.framebufferAddress))!,
            width: boot.width, height: h, pitch: boot.pitch,
            bandTop: cpu * h / cpus, bandBottom: (cpu + 1) * h / cpus)
    }

    /// Prints "NAME: WxH cpu I/N" followed by whatever `extra` writes.
    func announce(_ extra: () -> Void) {
        Console.line {
            Console.write(name)
            Console.write(": ")
            Console.write(fb.width)
            Console.write("x")
            Console.write(fb.height)
            Console.write(" cpu ")
            Console.write(cpu)
            Console.write("/")
            Console.write(cpus)
            extra()
        }
    }

    /// Draws frame 1, 2, 3 ... forever, ringing the doorbell after each.
    func run(_ draw: (UInt32) -> Void) -> Never {
        var n: UInt32 = 1
        while true {
            draw(n)
            doorbell(n)
            n &+= 1
            if n == 0 { n = 1 }
        }
    }
}

// MARK: - Sine (Sine.swift: 256 steps per turn, amplitude 127)

/// sin(2*pi*a/256) * 127 for an angle in table steps.
@inline(__always) func sin8(_ a: Int) -> Int {
    sineTable.withUnsafeBufferPointer { Int($0[a & 255]) }
}

/// Interpolated sine: `a` is an angle in 1/256 table steps (65536 per turn); result in -127...127.
@inline(__always) func sinFine(_ a: Int) -> Int {
    let i = (a >> 8) & 255, f = a & 255
    return sineTable.withUnsafeBufferPointer { t in
        let s0 = Int(t[i]), s1 = Int(t[(i + 1) & 255])
        return s0 + (((s1 - s0) * f) >> 8)
    }
}
