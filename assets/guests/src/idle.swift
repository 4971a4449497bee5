// idle: a blank screen with one blinking text cursor. Frame 1 clears the screen and
// draws a prompt; afterwards the guest only draws when the cursor toggles.
//   blink=N (default 30, 1..100000)  frames per cursor phase: visible in frames
//                                    1..N, hidden in N+1..2N, and so on
// The prompt and cursor are at the top left (vCPU 0's band); other vCPUs only clear their band.

@_cdecl("_start")
public func start(_ raw: UnsafeRawPointer) -> Never {
    let g = Guest(raw, name: "idle")
    var blink = 30
    parseArguments(g.boot, guest: "idle") { key, value in
        if key == "blink" { return parseInt(value, into: &blink, 1, 100_000) }
        return .unknown
    }
    g.announce { Console.write(" blink="); Console.write(blink) }
    let fb = g.fb
    let background: UInt32 = 0x000000
    let foreground = rgb(0xC0, 0xC0, 0xC0)
    let promptY = 8 + fontGlyphHeight * 2
    var cursorX = 8
    g.run { n in
        if n == 1 {
            fb.fillRect(0, fb.clipTop, fb.width, fb.clipBottom - fb.clipTop, background)
            fb.drawText(8, 8, "Ringside idle guest: nothing to do.", rgb(0x70, 0x70, 0x70), nil)
            cursorX = fb.drawText(8, promptY, "idle$ ", foreground, nil)
        }
        let phase = Int(n - 1)
        if phase % blink == 0 {
            let visible = (phase / blink) % 2 == 0
            fb.fillRect(cursorX, promptY, fontGlyphWidth, fontGlyphHeight, visible ? foreground : background)
        }
    }
}
