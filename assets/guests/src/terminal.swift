// terminal: a text console printing deterministic kernel-log-like lines with the
// 8x16 bitmap font. When the screen (the vCPU's band) is full it scrolls: one
// memmove of the framebuffer rows per frame, then the freed text lines are cleared.
//   lines=N (default 1, 0..10000)  lines printed per frame
//   seed=S  (default 1)            varies the messages
//   input=B (default 1)            0: never read the input queue (no per-frame wait between vCPUs)
// Line k (1, 2, 3 ... on each vCPU) depends only on k, seed and the vCPU index.
// Input (README.md, "Input"): the first typed key turns the bottom text row of the screen
// (the last vCPU's band) into a prompt `guest@ringside:~$ ` that echoes typed characters;
// Backspace deletes one, Enter moves the line into the log above (scrolling like a log line)
// and empties the prompt. Without input the picture is exactly as before.

let messagePrefix: [StaticString] = [
    "eth0: rx packets=", "kworker/u4:1: flushed dirty pages: ", "usb 1-1: new high-speed USB device number ",
    "EXT4-fs (vda1): mounted filesystem, inodes ", "audit: type=1400 apparmor=\"ALLOWED\" pid=",
    "ringside: doorbell latency us=", "systemd[1]: Started session ", "virtio_net virtio0: tx queue 0 kick ",
    "random: crng reseeded, entropy bits ", "TCP: request_sock_TCP: port ", "sched: RT throttling activated on cpu",
    "nfs: server 10.0.2.2 OK, rtt ms ", "drm: flip done on crtc ", "input: ringside tablet as event",
    "mm: compaction freed pages ", "WARNING: thermal zone 0 above trip point, mC ",
]
let messageSuffix: [StaticString] = [
    "", "", " (assigned)", " (ordered data mode)", " comm=\"ringside\"", "", " of user guest.", "",
    "", " (SYN flood?)", "", "", " (vblank)", "", "", "",
]

@_cdecl("_start")
public func start(_ raw: UnsafeRawPointer) -> Never {
    let g = Guest(raw, name: "terminal")
    var lines = 1
    var seed: UInt64 = 1
    var readInput = true
    parseArguments(g.boot, guest: "terminal") { key, value in
        if key == "lines" { return parseInt(value, into: &lines, 0, 10000) }
        if key == "seed" { return parseUInt64(value, into: &seed) }
        if key == "input" { return parseBool(value, into: &readInput) }
        return .unknown
    }
    let fb = g.fb
    let top = fb.clipTop
    let bandH = fb.clipBottom - top
    var rows = bandH / fontGlyphHeight
    var textBottom = top + rows * fontGlyphHeight
    let cols = fb.width / fontGlyphWidth
    g.announce {
        Console.write(" lines="); Console.write(lines)
        Console.write(" seed="); Console.writeUnsigned(seed)
        Console.write(" rows="); Console.write(rows)
        Console.write(" cols="); Console.write(cols)
    }
    var input = Input(g, enabled: readInput)
    var keyboard = Keyboard()
    let background = rgb(0x10, 0x12, 0x14)
    let timeColor = rgb(0x8A, 0xE2, 0x34)
    let textColor = rgb(0xD3, 0xD7, 0xCF)
    let warnColor = rgb(0xEF, 0x29, 0x29)
    var text = TextBuffer(capacity: 256)
    var row = 0  // next text row to write
    var lineNumber: UInt64 = 0
    let cpuSalt = UInt64(g.cpu) << 48

    func printLine(_ k: UInt64, at r: Int) {
        var rng = SplitMix64(seed: seed ^ cpuSalt ^ (k &* 0xD6E8_FEB8_6659_FD93))
        let pick = rng.below(messagePrefix.count)
        let micros = k &* 16_667 &+ UInt64(rng.below(1000))
        let y = top + r * fontGlyphHeight
        text.clear()
        text.append("[")
        text.append(micros / 1_000_000, width: 5)
        text.append(".")
        text.append(micros % 1_000_000, width: 6, pad: 48)
        text.append("] ")
        let x = fb.drawText(0, y, text, timeColor, nil)
        text.clear()
        text.append(messagePrefix[pick])
        text.append(UInt64(rng.below(pick == 10 ? 2 : 100_000)))
        text.append(messageSuffix[pick])
        text.append("  #")
        text.append(k)
        fb.drawText(x, y, text, pick == 15 ? warnColor : textColor, nil)
    }

    // The prompt: only on the vCPU whose band holds the screen's bottom row.
    let promptText: StaticString = "guest@ringside:~$ "
    let promptLength = promptText.utf8CodeUnitCount
    let ownsPrompt = g.cpu == g.cpus - 1 && rows > 0
    var typed = TextBuffer(capacity: max(cols - promptLength - 1, 0))
    var interactive = false
    var promptY = 0

    func drawCursor(_ visible: Bool) {
        fb.fillRect((promptLength + typed.count) * fontGlyphWidth, promptY, fontGlyphWidth, fontGlyphHeight, visible ? textColor : background)
    }
    /// A log row for one more line: scrolls the log area up by one line when it is full.
    func takeRow() -> Int {
        if row >= rows {
            fb.scrollUp(top, textBottom, by: fontGlyphHeight)
            fb.fillRect(0, textBottom - fontGlyphHeight, fb.width, fontGlyphHeight, background)
            row = rows - 1
        }
        row += 1
        return row - 1
    }
    func typeCharacter(_ c: UInt8) {
        if !interactive {
            // The log area gives up its last row to the prompt.
            interactive = true
            rows -= 1
            textBottom -= fontGlyphHeight
            if row > rows {
                fb.scrollUp(top, textBottom + fontGlyphHeight, by: fontGlyphHeight)
                row = rows
            }
            promptY = textBottom
            fb.fillRect(0, promptY, fb.width, fontGlyphHeight, background)
            fb.drawText(0, promptY, promptText, timeColor, nil)
            drawCursor(true)
        }
        if c == 10 {
            if rows > 0 {
                let y = top + takeRow() * fontGlyphHeight
                let x = fb.drawText(0, y, promptText, timeColor, nil)
                fb.drawText(x, y, typed, textColor, nil)
            }
            fb.fillRect(promptLength * fontGlyphWidth, promptY, (typed.count + 1) * fontGlyphWidth, fontGlyphHeight, background)
            typed.clear()
            drawCursor(true)
        } else if c == 8 {
            if typed.count > 0 {
                drawCursor(false)
                typed.count -= 1
                drawCursor(true)
            }
        } else if c >= 32 && c < 127 && typed.count < typed.capacity {
            typed.append(c)
            fb.drawText((promptLength + typed.count - 1) * fontGlyphWidth, promptY, UnsafePointer(typed.base + typed.count - 1), 1, textColor, background)
            drawCursor(true)
        }
    }

    g.run { n in
        if n == 1 { fb.fillRect(0, top, fb.width, bandH, background) }
        input.frame(n) { e in
            let c = keyboard.character(e)
            if c != 0 && ownsPrompt { typeCharacter(c) }
        }
        if rows == 0 { return }
        var k = lines
        if k >= rows {
            // the whole screen is replaced: only the last `rows` lines stay visible
            lineNumber &+= UInt64(k - rows)
            k = rows
            fb.fillRect(0, top, fb.width, textBottom - top, background)
            row = 0
        }
        let free = rows - row
        if k > free {
            let shift = k - free
            fb.scrollUp(top, textBottom, by: shift * fontGlyphHeight)
            fb.fillRect(0, textBottom - shift * fontGlyphHeight, fb.width, shift * fontGlyphHeight, background)
            row -= shift
        }
        for _ in 0..<k {
            lineNumber &+= 1
            printLine(lineNumber, at: row)
            row += 1
        }
    }
}
