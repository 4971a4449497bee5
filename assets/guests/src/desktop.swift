// desktop: a sparse-update workload. Frame 1 draws a desktop (gradient background,
// `windows` overlapping windows with title bars and text, a taskbar); later frames
// only move the mouse cursor (restore the pixels under its old position, save and
// draw at the new one) and redraw the taskbar clock when its text changes.
//   windows=N (default 3, 0..64)  number of windows
//   seed=S    (default 1)         window placement
//   input=B   (default 1)         0: never read the input queue (no per-frame wait between vCPUs)
// Clock: frame n shows mm:ss of (n - 1) / 60 seconds (60 frames per "second").
// Cursor: hot spot at (W/2 + max(W/2 - 24, 0) * s(300n) / 127, H/2 + max(H/2 - 24, 0) * s(410n + 16384) / 127),
// s = sinFine (interpolated sine table, 65536 per turn).
// With several vCPUs everything is clipped to the vCPU's band.
// Input (README.md, "Input"): the first pointer or button event ends the scripted cursor path
// (the cursor then follows the pointer); a left click raises and focuses the window under it
// (or the window of a taskbar button); dragging a title bar moves the window; keys typed while
// a terminal window has the focus go to its prompt (Enter: a new prompt line, Backspace).
// Changes are drawn by redrawing the scene inside the damaged rectangles only.
// The guest follows the host's window (with input=1): a display-size event sets that mode
// (DISPI); from the frame that delivers it every window is moved the least that puts it on the
// new screen (x in [0, W - w], y in [0, H - 28 - h]; 0 where it does not fit), the pointer is
// clamped, and the whole scene is redrawn with the taskbar at the new bottom edge.

let cursorWidth = 12
let cursorHeight = 19
// B = black outline, W = white fill, . = transparent; 19 rows of 12, newline-separated.
let cursorShape: StaticString = """
    B...........
    BB..........
    BWB.........
    BWWB........
    BWWWB.......
    BWWWWB......
    BWWWWWB.....
    BWWWWWWB....
    BWWWWWWWB...
    BWWWWWWWWB..
    BWWWWWWWWWB.
    BWWWWWWBBBBB
    BWWWBWWB....
    BWWBBWWB....
    BWB..BWWB...
    BB...BWWB...
    B.....BWWB..
    ......BWWB..
    .......BB...
    """

let windowTitles: [StaticString] = ["Terminal", "Editor - desktop.swift", "Files - /home/guest", "System Monitor"]

let terminalText: [StaticString] = [
    "guest@ringside:~$ uname -a",
    "Ringside 1.0 x86_64 embedded-swift",
    "guest@ringside:~$ ls assets/guests",
    "README.md  bin  build.sh  runtime  src",
    "guest@ringside:~$ bash build.sh",
    "  SWIFT  src/desktop.swift",
    "  LD     bin/desktop.elf",
    "guest@ringside:~$ ringside --frames 600",
    "frame 600: 3 rects dirty (sparse)",
    "guest@ringside:~$ ",
]

let editorText: [StaticString] = [
    "struct Window {",
    "    var frame: Rect",
    "    var title: String",
    "    var visible = true",
    "",
    "    func draw(on fb: Framebuffer) {",
    "        fb.fillRect(frame, .white)",
    "        fb.drawText(title, at: frame.origin)",
    "    }",
    "}",
    "",
    "// TODO: damage tracking",
]

let filesText: [StaticString] = [
    "Name                 Size   Modified",
    "Documents/              -   yesterday",
    "Pictures/               -   last week",
    "notes.txt           2 KiB   10:42",
    "report.pdf        812 KiB   09:15",
    "screenshot.png    1.2 MiB   Monday",
    "build.log          36 KiB   08:03",
    "todo.md            640 B    today",
    "budget.ods          18 KiB  March",
]

let monitorLabels: [StaticString] = ["cpu0", "cpu1", "mem ", "swap", "net ", "disk"]

struct Win {
    var x: Int
    var y: Int
    var w: Int
    var h: Int
    var kind: Int
    var seed: UInt64
    var term = -1  // index into the terminal texts (kind 0)

    /// Everything the window draws: border (-1) and shadow (+6) included.
    var bounds: Rect { Rect(x: x - 1, y: y - 1, w: w + 8, h: h + 8) }
    func contains(_ px: Int, _ py: Int) -> Bool { px >= x && px < x + w && py >= y && py < y + h }
}

struct Rect {
    var x: Int
    var y: Int
    var w: Int
    var h: Int
}

/// The text of a terminal window: a ring of lines, the first ones from `terminalText`, the
/// last one being edited. Fixed capacity: the oldest lines go when it is full.
struct TermLines {
    static let maxLines = 48
    static let maxColumns = 120
    let text: UnsafeMutablePointer<UInt8>
    let lengths: UnsafeMutablePointer<Int>
    let protected: UnsafeMutablePointer<Int>  // 18 on a prompt line, 0 on a wrapped one
    var first = 0
    var count = 0
    var edited = false

    init() {
        text = .allocate(capacity: TermLines.maxLines * TermLines.maxColumns)
        lengths = .allocate(capacity: TermLines.maxLines)
        protected = .allocate(capacity: TermLines.maxLines)
        for line in terminalText {
            addLine(prompt: 0)
            line.withUTF8Buffer { b in for c in b { append(c) } }
            protected[slot(count - 1)] = line.utf8Start[0] == UInt8(ascii: "g") ? promptPrefix.utf8CodeUnitCount : 0
        }
    }

    func slot(_ k: Int) -> Int { (first + k) % TermLines.maxLines }
    func line(_ k: Int) -> UnsafePointer<UInt8> { UnsafePointer(text + slot(k) * TermLines.maxColumns) }
    func length(_ k: Int) -> Int { lengths[slot(k)] }
    func isPrompt(_ k: Int) -> Bool { protected[slot(k)] > 0 }

    mutating func addLine(prompt: Int) {
        if count == TermLines.maxLines { first = (first + 1) % TermLines.maxLines } else { count += 1 }
        lengths[slot(count - 1)] = 0
        protected[slot(count - 1)] = prompt
    }

    mutating func append(_ c: UInt8) {
        let s = slot(count - 1)
        if lengths[s] < TermLines.maxColumns { text[s * TermLines.maxColumns + lengths[s]] = c; lengths[s] += 1 }
    }

    /// Types one character (10 = Enter, 8 = Backspace) into a window `columns` characters wide.
    mutating func type(_ c: UInt8, columns: Int) {
        edited = true
        if c == 10 {
            addLine(prompt: promptPrefix.utf8CodeUnitCount)
            promptPrefix.withUTF8Buffer { b in for p in b { append(p) } }
        } else if c == 8 {
            let s = slot(count - 1)
            if lengths[s] > protected[s] { lengths[s] -= 1 } else if protected[s] == 0 && count > 1 { count -= 1 }
        } else if c >= 32 && c < 127 {
            if length(count - 1) >= min(columns, TermLines.maxColumns) { addLine(prompt: 0) }
            append(c)
        }
    }
}

let promptPrefix: StaticString = "guest@ringside:~$ "

let titleHeight = 22
let taskbarHeight = 28

func drawLines(_ fb: Framebuffer, _ lines: [StaticString], _ x: Int, _ y: Int, _ fg: UInt32) {
    var yy = y
    for line in lines {
        fb.drawText(x, yy, line, fg, nil)
        yy += fontGlyphHeight
    }
}

func drawWindow(_ screen: Framebuffer, _ win: Win, active: Bool, number: Int, term: TermLines?, scratch: TextBuffer) {
    let x = win.x, y = win.y, w = win.w, h = win.h
    screen.fillRect(x + 6, y + 6, w, h, rgb(0x0C, 0x14, 0x1E))  // shadow
    screen.strokeRect(x - 1, y - 1, w + 2, h + 2, rgb(0x20, 0x20, 0x20))
    // title bar
    let t0 = active ? rgb(0x4A, 0x86, 0xC8) : rgb(0x9A, 0xA4, 0xAE)
    let t1 = active ? rgb(0x2A, 0x5A, 0x98) : rgb(0x74, 0x7E, 0x88)
    screen.fillGradient(x, y, w, titleHeight, t0, t1)
    let bar = screen.clipped(x, y, w - 70, titleHeight)
    let tx = bar.drawText(x + 8, y + 3, windowTitles[win.kind], 0xFFFFFF, nil)
    var num = scratch
    num.clear()
    num.append(" #")
    num.append(UInt64(number))
    bar.drawText(tx, y + 3, num, active ? 0xC8DCF0 : 0xE0E4E8, nil)
    // buttons: minimise, maximise, close
    let by = y + 4
    let bx = x + w - 62
    screen.fillRect(bx, by, 16, 14, rgb(0xD8, 0xD8, 0xD8))
    screen.fillRect(bx + 4, by + 9, 8, 2, 0x303030)
    screen.fillRect(bx + 20, by, 16, 14, rgb(0xD8, 0xD8, 0xD8))
    screen.strokeRect(bx + 24, by + 3, 8, 8, 0x303030)
    screen.fillRect(bx + 40, by, 16, 14, rgb(0xE0, 0x4B, 0x3A))
    screen.drawText(bx + 44, by - 1, "x", 0xFFFFFF, nil)
    // body
    let bodyY = y + titleHeight
    let bodyH = h - titleHeight
    let body = screen.clipped(x, bodyY, w, bodyH)
    switch win.kind {
    case 0:
        body.fillRect(x, bodyY, w, bodyH, rgb(0x16, 0x18, 0x1C))
        guard let t = term else { break }
        var yy = bodyY + 6
        // Until something is typed the text starts at the top (clipped below); after, the
        // last line stays in view.
        let visible = max(1, (bodyH - 6) / fontGlyphHeight)
        for k in (t.edited ? max(0, t.count - visible) : 0)..<t.count {
            let end = body.drawText(x + 6, yy, t.line(k), t.length(k), t.isPrompt(k) ? rgb(0x8A, 0xE2, 0x34) : rgb(0xD3, 0xD7, 0xCF), nil)
            if k == t.count - 1 { body.fillRect(end, yy, 8, fontGlyphHeight, rgb(0xD3, 0xD7, 0xCF)) }
            yy += fontGlyphHeight
        }
    case 1:
        body.fillRect(x, bodyY, w, bodyH, 0xFFFFFF)
        body.fillRect(x, bodyY, 36, bodyH, rgb(0xEE, 0xEE, 0xEC))
        var yy = bodyY + 4
        var lineNo = scratch
        for (i, line) in editorText.enumerated() {
            lineNo.clear()
            lineNo.append(UInt64(i + 1), width: 3)
            body.drawText(x + 4, yy, lineNo, rgb(0x88, 0x8A, 0x85), nil)
            let comment = i == editorText.count - 1
            body.drawText(x + 44, yy, line, comment ? rgb(0x4E, 0x9A, 0x06) : rgb(0x20, 0x4A, 0x87), nil)
            yy += fontGlyphHeight
        }
    case 2:
        body.fillRect(x, bodyY, w, bodyH, 0xFFFFFF)
        var yy = bodyY
        for (i, line) in filesText.enumerated() {
            let bg: UInt32 = i == 0 ? rgb(0xDE, 0xE2, 0xE6) : (i % 2 == 0 ? rgb(0xF4, 0xF6, 0xF8) : 0xFFFFFF)
            body.fillRect(x, yy, w, fontGlyphHeight + 4, bg)
            body.drawText(x + 8, yy + 2, line, i == 0 ? 0x202020 : rgb(0x2E, 0x34, 0x36), nil)
            yy += fontGlyphHeight + 4
        }
    default:
        body.fillRect(x, bodyY, w, bodyH, rgb(0xF0, 0xF0, 0xF0))
        var rng = SplitMix64(seed: win.seed)
        var yy = bodyY + 10
        let barW = max(w - 90, 10)
        for label in monitorLabels {
            body.drawText(x + 10, yy, label, 0x202020, nil)
            body.fillRect(x + 60, yy + 2, barW, 12, rgb(0xC8, 0xC8, 0xC8))
            let used = rng.range(barW / 10, barW)
            body.fillRect(x + 60, yy + 2, used, 12, used > barW * 3 / 4 ? rgb(0xCC, 0x33, 0x33) : rgb(0x34, 0x8A, 0xD8))
            yy += 26
        }
        // a little history graph
        let gy = yy + 4, gh = max(bodyY + bodyH - gy - 10, 0)
        body.fillRect(x + 10, gy, w - 20, gh, 0x202428)
        var px = x + 12
        while px < x + w - 12 && gh > 4 {
            let v = rng.range(2, gh - 2)
            body.fillRect(px, gy + gh - v, 3, v, rgb(0x73, 0xD2, 0x16))
            px += 4
        }
    }
}

func drawClock(_ fb: Framebuffer, _ frame: UInt32, _ text: inout TextBuffer) {
    let seconds = UInt64(frame - 1) / 60
    text.clear()
    text.append((seconds / 60) % 100, width: 2, pad: 48)
    text.append(UInt8(ascii: ":"))
    text.append(seconds % 60, width: 2, pad: 48)
    let x = fb.width - 8 * 5 - 14
    let y = fb.height - taskbarHeight + 6
    fb.fillRect(x - 6, y - 2, 8 * 5 + 12, fontGlyphHeight + 4, rgb(0x18, 0x18, 0x18))
    fb.drawText(x, y, text, rgb(0xEE, 0xEE, 0xEC), nil)
}

@_cdecl("_start")
public func start(_ raw: UnsafeRawPointer) -> Never {
    let g = Guest(raw, name: "desktop")
    var windowCount = 3
    var seed: UInt64 = 1
    var readInput = true
    parseArguments(g.boot, guest: "desktop") { key, value in
        if key == "windows" { return parseInt(value, into: &windowCount, 0, 64) }
        if key == "seed" { return parseUInt64(value, into: &seed) }
        if key == "input" { return parseBool(value, into: &readInput) }
        return .unknown
    }
    g.announce {
        Console.write(" windows="); Console.write(windowCount)
        Console.write(" seed="); Console.writeUnsigned(seed)
    }
    var fb = g.fb
    var W = fb.width, H = fb.height
    // Windows: the same on every vCPU (placed on the whole screen), clipped to bands when drawn.
    var rng = SplitMix64(seed: seed)
    var windows: [Win] = []
    var terms: [TermLines] = []
    var deskH = max(H - taskbarHeight, 1)
    for k in 0..<windowCount {
        let w = max(min(rng.range(W * 3 / 10, W / 2), W), min(W, 160))
        let h = max(min(rng.range(deskH * 3 / 10, deskH / 2), deskH), min(deskH, 100))
        let x = rng.range(8, max(W - w - 8, 8))
        let y = rng.range(8, max(deskH - h - 8, 8))
        windows.append(Win(x: x, y: y, w: w, h: h, kind: k % 4, seed: rng.next()))
        if k % 4 == 0 {
            windows[k].term = terms.count
            terms.append(TermLines())
        }
    }
    // Stacking order, bottom to top: the top window has the focus.
    var order: [Int] = []
    for k in 0..<windowCount { order.append(k) }
    // Cursor sprite decoded to colours (0xFF000000 = transparent) and its save-under buffer.
    let sprite = UnsafeMutablePointer<UInt32>.allocate(capacity: cursorWidth * cursorHeight)
    let under = UnsafeMutablePointer<UInt32>.allocate(capacity: cursorWidth * cursorHeight)
    cursorShape.withUTF8Buffer { b in
        for i in 0..<(cursorWidth * cursorHeight) {
            let ch = b[(i / cursorWidth) * (cursorWidth + 1) + i % cursorWidth]
            sprite[i] = ch == UInt8(ascii: "B") ? 0x000000 : ch == UInt8(ascii: "W") ? 0xFFFFFF : 0xFF00_0000
        }
    }
    func cursorPosition(_ n: UInt32) -> (Int, Int) {
        let t = Int(n)
        let cx = W / 2 + max(W / 2 - 24, 0) * sinFine(t &* 300) / 127
        let cy = H / 2 + max(H / 2 - 24, 0) * sinFine(t &* 410 &+ 16384) / 127
        return (cx, cy)
    }
    var clockText = TextBuffer(capacity: 8)
    let scratch = TextBuffer(capacity: 8)
    var cursor = (0, 0)
    // Once the pointer leads, the cursor is the cursor plane's (when the VMM offers one): moving
    // it writes no framebuffer pixel. The scripted path stays drawn (the sparse workload).
    let plane = CursorPlane(g)
    if plane.available {
        let argb = UnsafeMutablePointer<UInt32>.allocate(capacity: cursorWidth * cursorHeight)
        for i in 0..<(cursorWidth * cursorHeight) { argb[i] = sprite[i] == 0xFF00_0000 ? 0 : 0xFF00_0000 | sprite[i] }
        plane.setShape(argb, width: cursorWidth, height: cursorHeight, hotX: 0, hotY: 0)
    }
    var drawn = false  // the framebuffer holds the drawn cursor at `cursor`
    var planeShown = false

    // Input state: the same on every vCPU, since every vCPU applies the same events.
    var input = Input(g, enabled: readInput, bootInfo: raw)
    var redrawAll = false  // a new mode: draw the whole scene this frame
    var keyboard = Keyboard()
    var pointerActive = false  // a pointer or button event arrived: the scripted path has ended
    var pointer = (0, 0)
    var dragging = -1  // the window whose title bar is held, or -1
    var grab = (0, 0)  // pointer minus window origin when the drag started
    var moved = -1  // the window moved in this frame, and where it was at the frame's start
    var movedFrom = (0, 0)
    // Rectangles to redraw this frame (a fixed list; when it is full they merge into one).
    let maxDamage = 8
    let damage = UnsafeMutablePointer<Rect>.allocate(capacity: maxDamage)
    var damageCount = 0

    func addDamage(_ r: Rect) {
        let x0 = max(r.x, 0), y0 = max(r.y, 0), x1 = min(r.x + r.w, W), y1 = min(r.y + r.h, H)
        if x0 >= x1 || y0 >= y1 { return }
        if damageCount == maxDamage {
            var u = damage[0]
            for k in 1..<maxDamage {
                let d = damage[k]
                let ux1 = max(u.x + u.w, d.x + d.w), uy1 = max(u.y + u.h, d.y + d.h)
                u.x = min(u.x, d.x); u.y = min(u.y, d.y); u.w = ux1 - u.x; u.h = uy1 - u.y
            }
            damage[0] = u
            damageCount = 1
        }
        damage[damageCount] = Rect(x: x0, y: y0, w: x1 - x0, h: y1 - y0)
        damageCount += 1
    }

    var ty = H - taskbarHeight
    func taskbarButtonX(_ i: Int) -> Int? {
        let bx = 84 + 150 * i
        return bx + 150 > W - 70 ? nil : bx
    }

    /// The whole scene (background, windows bottom to top, taskbar, clock), clipped to `f`.
    func drawScene(_ f: Framebuffer, _ n: UInt32) {
        if f.isClipEmpty { return }
        f.fillGradient(0, 0, W, deskH, rgb(0x3A, 0x6E, 0x9E), rgb(0x10, 0x24, 0x3C))
        f.drawText(W - 8 * 17 - 16, 12, "Ringside desktop", rgb(0xA8, 0xC4, 0xE0), nil)
        let top = order.isEmpty ? -1 : order[order.count - 1]
        for i in order {
            let win = windows[i]
            drawWindow(f, win, active: i == top, number: i + 1, term: win.term >= 0 ? terms[win.term] : nil, scratch: scratch)
        }
        if f.clipBottom > ty {
            f.fillRect(0, ty, W, taskbarHeight, rgb(0x2E, 0x34, 0x36))
            f.fillRect(0, ty, W, 1, rgb(0x55, 0x57, 0x53))
            f.fillGradient(4, ty + 3, 72, taskbarHeight - 6, rgb(0x73, 0xD2, 0x16), rgb(0x4E, 0x9A, 0x06))
            f.drawText(18, ty + 6, "Start", 0xFFFFFF, nil)
            for (i, win) in windows.enumerated() {
                guard let bx = taskbarButtonX(i) else { break }
                f.fillRect(bx, ty + 3, 146, taskbarHeight - 6, i == top ? rgb(0x55, 0x57, 0x53) : rgb(0x40, 0x44, 0x46))
                f.clipped(bx, ty, 140, taskbarHeight).drawText(bx + 6, ty + 6, windowTitles[win.kind], rgb(0xEE, 0xEE, 0xEC), nil)
            }
            drawClock(f, n, &clockText)
        }
    }

    /// Raises window `i` to the top, which gives it the focus.
    func raise(_ i: Int) {
        let top = order[order.count - 1]
        if top == i { return }
        var k = 0
        while order[k] != i { k += 1 }
        while k < order.count - 1 { order[k] = order[k + 1]; k += 1 }
        order[order.count - 1] = i
        addDamage(windows[i].bounds)
        addDamage(Rect(x: windows[top].x - 1, y: windows[top].y - 1, w: windows[top].w + 2, h: titleHeight + 1))  // now inactive
        addDamage(Rect(x: 0, y: ty, w: W, h: taskbarHeight))
    }

    /// Damages the old and new place of the window moved in this frame.
    func flushMove() {
        if moved < 0 { return }
        let win = windows[moved]
        if win.x != movedFrom.0 || win.y != movedFrom.1 {
            addDamage(Rect(x: movedFrom.0 - 1, y: movedFrom.1 - 1, w: win.w + 8, h: win.h + 8))
            addDamage(win.bounds)
        }
        moved = -1
    }

    func handle(_ e: InputEvent) {
        switch e.type {
        case inputPointer:
            pointerActive = true
            pointer = (max(0, min(W - 1, Int(e.x))), max(0, min(H - 1, Int(e.y))))
            if dragging >= 0 {
                if moved != dragging { flushMove(); moved = dragging; movedFrom = (windows[dragging].x, windows[dragging].y) }
                let win = windows[dragging]
                windows[dragging].x = max(-(win.w - 40), min(W - 40, pointer.0 - grab.0))
                windows[dragging].y = max(0, min(max(deskH - titleHeight, 0), pointer.1 - grab.1))
            }
        case inputButton:
            pointerActive = true
            if e.code != buttonLeft { break }
            if e.value == 0 { dragging = -1; break }
            let (px, py) = pointer
            if py >= ty {
                for i in 0..<windows.count {
                    guard let bx = taskbarButtonX(i) else { break }
                    if px >= bx && px < bx + 146 { raise(i) }
                }
                break
            }
            var k = order.count - 1
            while k >= 0 && !windows[order[k]].contains(px, py) { k -= 1 }
            if k < 0 { break }
            let i = order[k]
            raise(i)
            if py < windows[i].y + titleHeight {
                dragging = i
                grab = (px - windows[i].x, py - windows[i].y)
            }
        case inputKey:
            let c = keyboard.character(e)
            if c == 0 || order.isEmpty { break }
            let i = order[order.count - 1]
            let t = windows[i].term
            if t < 0 { break }
            let win = windows[i]
            terms[t].type(c, columns: (win.w - 12) / fontGlyphWidth - 1)
            addDamage(Rect(x: win.x, y: win.y + titleHeight, w: win.w, h: win.h - titleHeight))
        default:
            break
        }
    }

    /// A new mode: the new geometry, windows moved onto the screen, everything to be redrawn.
    func resized(_ boot: BootInfo) {
        fb = g.band(boot)
        W = fb.width
        H = fb.height
        deskH = max(H - taskbarHeight, 1)
        ty = H - taskbarHeight
        for k in 0..<windows.count {
            windows[k].x = max(0, min(windows[k].x, W - windows[k].w))
            windows[k].y = max(0, min(windows[k].y, deskH - windows[k].h))
        }
        pointer = (min(pointer.0, W - 1), min(pointer.1, H - 1))
        redrawAll = true
    }

    g.run { n in
        input.frame(n, resized: { boot in resized(boot) }) { e in handle(e) }
        flushMove()
        let target = pointerActive ? pointer : cursorPosition(n)
        let clockDue = n > 1 && (n - 1) % 60 == 0
        let usePlane = pointerActive && plane.available
        if n == 1 || redrawAll {
            // The whole scene: nothing of the old cursor is left to restore.
            drawScene(fb, n)
            damageCount = 0
            redrawAll = false
            drawn = false
        } else if !pointerActive || damageCount > 0 || clockDue || (usePlane ? drawn : target != cursor) {
            // restore what the cursor covered
            for r in 0..<cursorHeight where drawn {
                let yy = cursor.1 + r
                if yy < fb.clipTop || yy >= fb.clipBottom { continue }
                let p = fb.row(yy)
                for c in 0..<cursorWidth where fb.contains(cursor.0 + c, yy) && sprite[r * cursorWidth + c] != 0xFF00_0000 {
                    p[cursor.0 + c] = under[r * cursorWidth + c]
                }
            }
            for k in 0..<damageCount {
                let d = damage[k]
                drawScene(fb.clipped(d.x, d.y, d.w, d.h), n)
            }
            damageCount = 0
            drawn = false
            if clockDue { drawClock(fb, n, &clockText) }
        } else if !usePlane {
            return  // nothing moved: the cursor stays where it is
        }
        if usePlane {
            if target != cursor || !planeShown { plane.move(target.0, target.1) }
            cursor = target
            planeShown = true
            return
        }
        // save under and draw the cursor at its new position
        cursor = target
        drawn = true
        for r in 0..<cursorHeight {
            let yy = cursor.1 + r
            if yy < fb.clipTop || yy >= fb.clipBottom { continue }
            let p = fb.row(yy)
            for c in 0..<cursorWidth where fb.contains(cursor.0 + c, yy) {
                let s = sprite[r * cursorWidth + c]
                if s == 0xFF00_0000 { continue }
                under[r * cursorWidth + c] = p[cursor.0 + c]
                p[cursor.0 + c] = s
            }
        }
    }
}
