// modes: a test guest for run-time mode setting. It sets display modes at given frames
// through the DISPI registers and draws a picture of its current geometry and frame.
//   modes=WxH@F,WxHxBPP@F,...  (up to 32) before drawing frame F (0: before frame 1), vCPU 0
//                              asks for mode WxH (BPP 32 unless given). A refused mode is
//                              reported on the console ("modes: frame F: WxHxBPP refused,
//                              still WxH") and the guest keeps the mode it has.
//   follow=1 (default 0)        vCPU 0 follows the host's window: it sets the flag
//                              RS_GUEST_FOLLOWS_DISPLAY_SIZE and answers each display-size
//                              event (the newest, once a frame) by setting that mode
//   repeat=P (default 0: once)  the schedule repeats every P frames: step F also applies at
//                              frames F + P, F + 2P, ... (for long tests with many mode sets)
// Every frame n each vCPU reads its boot info again and writes every pixel of its band:
//   pixel(x, y) = (R << 16) | (G << 8) | B with R = (x * 255 / (W - 1)) ^ (n & 0xFF),
//   G = (y * 255 / (H - 1)), B = (x + y + n) & 0xFF,
// a 2-pixel white border around the screen, and at (16, 16) the text "WxH frame n" in
// white on black. So the picture after frame n is a function of the mode and n alone: a run
// started in that mode draws the same frame n.

struct ModeStep {
    var width: UInt32
    var height: UInt32
    var bpp: UInt32
    var frame: UInt32
}

/// Parses "WxH@F" or "WxHxBPP@F" entries separated by commas.
func parseModes(_ value: Word, into steps: inout [ModeStep]) -> ArgumentResult {
    var numbers: [UInt64] = []
    var current: UInt64 = 0
    var digits = 0
    var separators: [UInt8] = []
    var i = 0
    while i <= value.count {
        let c: UInt8 = i < value.count ? value.base[i] : UInt8(ascii: ",")
        if c >= 48 && c <= 57 {
            current = current &* 10 &+ UInt64(c - 48)
            digits += 1
            if digits > 9 { return .invalid }
        } else if c == UInt8(ascii: "x") || c == UInt8(ascii: "@") || c == UInt8(ascii: ",") {
            if digits == 0 { return .invalid }
            numbers.append(current)
            separators.append(c)
            current = 0
            digits = 0
            if c == UInt8(ascii: ",") {
                // W x H [x BPP] @ F ,
                let n = numbers.count
                if n == 3 && separators[0] == UInt8(ascii: "x") && separators[1] == UInt8(ascii: "@") {
                    steps.append(ModeStep(width: UInt32(numbers[0]), height: UInt32(numbers[1]), bpp: 32, frame: UInt32(numbers[2])))
                } else if n == 4 && separators[0] == UInt8(ascii: "x") && separators[1] == UInt8(ascii: "x") && separators[2] == UInt8(ascii: "@") {
                    steps.append(ModeStep(width: UInt32(numbers[0]), height: UInt32(numbers[1]), bpp: UInt32(numbers[2]), frame: UInt32(numbers[3])))
                } else {
                    return .invalid
                }
                if steps.count > 32 { return .invalid }
                numbers.removeAll()
                separators.removeAll()
            }
        } else {
            return .invalid
        }
        i += 1
    }
    return .ok
}

@_cdecl("_start")
public func start(_ raw: UnsafeRawPointer) -> Never {
    let g = Guest(raw, name: "modes")
    var steps: [ModeStep] = []
    var period = 0
    var follow = false
    parseArguments(g.boot, guest: "modes") { key, value in
        if key == "modes" { steps.removeAll(); return parseModes(value, into: &steps) }
        if key == "repeat" { return parseInt(value, into: &period, 0, 1_000_000) }
        if key == "follow" { return parseBool(value, into: &follow) }
        return .unknown
    }
    g.announce { Console.write(" mode sets: "); Console.write(steps.count) }
    let follower: DisplaySizeFollower? = follow && g.cpu == 0 ? DisplaySizeFollower(g.boot) : nil
    var text = TextBuffer(capacity: 64)
    let white = rgb(255, 255, 255), black = rgb(0, 0, 0)
    var n: UInt32 = 1
    while true {
        if g.cpu == 0 {
            // Frame n of the schedule: with repeat=P, frames n and n + P are the same step.
            let m = period > 0 ? UInt32((Int(n) - 1) % period + 1) : n
            for s in steps where s.frame == m || (s.frame == 0 && m == 1) {
                if !Dispi.setMode(s.width, s.height, bpp: s.bpp) {
                    let now = BootInfo(raw)
                    Console.line {
                        Console.write("modes: frame "); Console.write(Int(n)); Console.write(": ")
                        Console.writeUnsigned(UInt64(s.width)); Console.write("x"); Console.writeUnsigned(UInt64(s.height))
                        Console.write("x"); Console.writeUnsigned(UInt64(s.bpp)); Console.write(" refused, still ")
                        Console.write(now.width); Console.write("x"); Console.write(now.height)
                    }
                }
            }
        }
        follower?.poll()
        // The geometry may have changed: read the boot info again (the VMM rewrote it).
        let boot = BootInfo(raw)
        let w = boot.width, h = boot.height
        let fb = Framebuffer(base: UnsafeMutableRawPointer(bitPattern: UInt(boot.framebufferAddress))!,
                             width: w, height: h, pitch: boot.pitch,
                             bandTop: g.cpu * h / g.cpus, bandBottom: (g.cpu + 1) * h / g.cpus)
        let nn = Int(n)
        for y in fb.clipTop..<fb.clipBottom {
            let p = fb.row(y)
            let green = UInt32(truncatingIfNeeded: y * 255 / max(h - 1, 1)) << 8
            var x = 0
            while x < w {
                let red = UInt32(truncatingIfNeeded: (x * 255 / max(w - 1, 1)) ^ (nn & 0xFF)) << 16
                p[x] = red | green | UInt32(truncatingIfNeeded: (x &+ y &+ nn) & 0xFF)
                x &+= 1
            }
        }
        fb.fillRect(0, 0, w, 2, white)
        fb.fillRect(0, h - 2, w, 2, white)
        fb.fillRect(0, 0, 2, h, white)
        fb.fillRect(w - 2, 0, 2, h, white)
        text.clear()
        text.append(UInt64(w)); text.append("x"); text.append(UInt64(h)); text.append(" frame "); text.append(UInt64(n))
        fb.drawText(16, 16, text, white, black)
        doorbell(n)
        n &+= 1
        if n == 0 { n = 1 }
    }
}
