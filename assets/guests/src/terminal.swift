// terminal: a text console printing deterministic kernel-log-like lines with the
// 8x16 bitmap font. When the screen (the vCPU's band) is full it scrolls: one
// memmove of the framebuffer rows per frame, then the freed text lines are cleared.
//   lines=N (default 1, 0..10000)  lines printed per frame
//   seed=S  (default 1)            varies the messages
// Line k (1, 2, 3 ... on each vCPU) depends only on k, seed and the vCPU index.

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
    parseArguments(g.boot, guest: "terminal") { key, value in
        if key == "lines" { return parseInt(value, into: &lines, 0, 10000) }
        if key == "seed" { return parseUInt64(value, into: &seed) }
        return .unknown
    }
    let fb = g.fb
    let top = fb.clipTop
    let bandH = fb.clipBottom - top
    let rows = bandH / fontGlyphHeight
    let textBottom = top + rows * fontGlyphHeight
    g.announce {
        Console.write(" lines="); Console.write(lines)
        Console.write(" seed="); Console.writeUnsigned(seed)
        Console.write(" rows="); Console.write(rows)
        Console.write(" cols="); Console.write(fb.width / fontGlyphWidth)
    }
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

    g.run { n in
        if n == 1 { fb.fillRect(0, top, fb.width, bandH, background) }
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
