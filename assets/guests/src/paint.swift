// paint: draw on a canvas with the pointer (README.md, "paint"). Frame 1 draws a status
// strip (8 colour swatches, the brush size, the keys) over a white canvas; after that the
// guest writes pixels only where input makes it draw, so it shows what tracking sends.
//   brush=N (default 3, 1..64)  the brush: an N x N square, top-left at (x - N/2, y - N/2)
// Input: left button held = draw in the current colour, right button held = erase (canvas
// white); strokes join successive pointer positions with straight lines, so fast motion
// leaves no gaps. Keys 1..8 pick a colour, C or Delete clears the canvas, - and = shrink and
// grow the brush (as do the wheel's clicks), and a left click on a swatch picks it.
// The guest follows the host's window: a display-size event sets that mode (DISPI), and from
// the frame that delivers it the strip is redrawn at the new width over a cleared (white)
// canvas; colour, brush and a held button are kept, the pointer is clamped to the new size.
// The picture is a function of the arguments, the geometry, the frame number and the events.
// The pointer is shown as a crosshair in the cursor plane (when the VMM offers one), from the
// first pointer event on: moving it writes no framebuffer pixel.

let paintPalette: [UInt32] = [0x000000, 0xE53935, 0xFB8C00, 0xFDD835, 0x43A047, 0x1E88E5, 0x8E24AA, 0xFFFFFF]
let paintCanvas: UInt32 = 0xFFFFFF
let paintStripHeight = 24
let paintSwatchPitch = 28
/// The crosshair: 11x11, hot spot in the middle; a black cross with a white outline.
let paintCrossSize = 11

func paintCrosshair(_ x: Int, _ y: Int) -> UInt32 {
    let c = paintCrossSize / 2
    if x == c || y == c { return 0xFF00_0000 }
    if abs(x - c) == 1 || abs(y - c) == 1 { return 0xFFFF_FFFF }
    return 0
}

@_cdecl("_start")
public func start(_ raw: UnsafeRawPointer) -> Never {
    let g = Guest(raw, name: "paint")
    var brush = 3
    parseArguments(g.boot, guest: "paint") { key, value in
        if key == "brush" { return parseInt(value, into: &brush, 1, 64) }
        return .unknown
    }
    g.announce { Console.write(" brush="); Console.write(brush) }
    var fb = g.fb
    var W = fb.width, H = fb.height
    var stripH = min(paintStripHeight, H)
    var canvas = fb.clipped(0, stripH, W, H - stripH)
    var input = Input(g, bootInfo: raw)
    var colour = 0
    var pointerX = W / 2, pointerY = H / 2
    var drawing = false, erasing = false
    var label = TextBuffer(capacity: 16)
    let plane = CursorPlane(g)
    var shown = (-1, -1)
    if plane.available {
        let argb = UnsafeMutablePointer<UInt32>.allocate(capacity: paintCrossSize * paintCrossSize)
        for i in 0..<(paintCrossSize * paintCrossSize) { argb[i] = paintCrosshair(i % paintCrossSize, i / paintCrossSize) }
        plane.setShape(argb, width: paintCrossSize, height: paintCrossSize, hotX: paintCrossSize / 2, hotY: paintCrossSize / 2)
    }
    var pointed = false  // a pointer event has come: the crosshair is shown

    func drawStrip() {
        let strip = fb.clipped(0, 0, W, stripH)
        strip.fillRect(0, 0, W, stripH, rgb(0x2E, 0x34, 0x36))
        for i in 0..<paintPalette.count {
            let x = 4 + i * paintSwatchPitch
            if i == colour { strip.fillRect(x - 2, 1, 26, 22, rgb(0xFC, 0xE9, 0x4F)) }
            strip.fillRect(x, 3, 22, 18, paintPalette[i])
            label.clear()
            label.append(UInt64(i + 1))
            let dark = i == 3 || i == 7
            strip.drawText(x + 7, 4, label, dark ? 0x000000 : 0xFFFFFF, nil)
        }
        var x = 4 + paintPalette.count * paintSwatchPitch + 8
        label.clear()
        label.append("brush ")
        label.append(UInt64(brush))
        x = strip.drawText(x, 4, label, rgb(0xEE, 0xEE, 0xEC), nil)
        strip.drawText(x + 16, 4, "1-8 colour  C clear  -/= brush  right: erase", rgb(0xA0, 0xA4, 0xA0), nil)
    }

    func stamp(_ x: Int, _ y: Int, _ c: UInt32) {
        canvas.fillRect(x - brush / 2, y - brush / 2, brush, brush, c)
    }

    /// Bresenham from (x0, y0) to (x1, y1), stamping the brush at every step.
    func line(_ x0: Int, _ y0: Int, _ x1: Int, _ y1: Int, _ c: UInt32) {
        let dx = abs(x1 - x0), dy = -abs(y1 - y0)
        let sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1
        var x = x0, y = y0, err = dx + dy
        while true {
            stamp(x, y, c)
            if x == x1 && y == y1 { break }
            let e2 = 2 * err
            if e2 >= dy { err += dy; x += sx }
            if e2 <= dx { err += dx; y += sy }
        }
    }

    func setBrush(_ b: Int) {
        let nb = max(1, min(64, b))
        if nb != brush { brush = nb; drawStrip() }
    }

    func handle(_ e: InputEvent) {
        switch e.type {
        case inputPointer:
            let x = max(0, min(W - 1, Int(e.x))), y = max(0, min(H - 1, Int(e.y)))
            if drawing || erasing { line(pointerX, pointerY, x, y, erasing ? paintCanvas : paintPalette[colour]) }
            pointerX = x
            pointerY = y
            pointed = true
        case inputButton:
            let down = e.value != 0
            if e.code == buttonLeft {
                if down && pointerY < stripH {
                    let i = (pointerX - 2) / paintSwatchPitch
                    if pointerX >= 2 && i < paintPalette.count && colour != i { colour = i; drawStrip() }
                } else if down && !drawing {
                    drawing = true
                    erasing = false
                    stamp(pointerX, pointerY, paintPalette[colour])
                } else if !down {
                    drawing = false
                }
            } else if e.code == buttonRight {
                if down && !erasing && !drawing {
                    erasing = true
                    stamp(pointerX, pointerY, paintCanvas)
                } else if !down {
                    erasing = false
                }
            }
        case inputWheel:
            setBrush(brush + Int(e.value))
        case inputKey:
            if e.value == 0 { return }
            if e.code >= 2 && e.code <= 9 {  // KEY_1 ... KEY_8
                let i = Int(e.code) - 2
                if i != colour { colour = i; drawStrip() }
            } else if e.code == 46 || e.code == keyDelete {  // KEY_C, KEY_DELETE
                canvas.fillRect(0, stripH, W, H - stripH, paintCanvas)
            } else if e.code == 12 {  // KEY_MINUS
                setBrush(brush - 1)
            } else if e.code == 13 {  // KEY_EQUAL
                setBrush(brush + 1)
            }
        default:
            break
        }
    }

    /// A new mode (display-size event): the new geometry, then a fresh strip and a white canvas.
    func resized(_ boot: BootInfo) {
        fb = g.band(boot)
        W = fb.width
        H = fb.height
        stripH = min(paintStripHeight, H)
        canvas = fb.clipped(0, stripH, W, H - stripH)
        pointerX = min(pointerX, W - 1)
        pointerY = min(pointerY, H - 1)
        drawStrip()
        canvas.fillRect(0, stripH, W, H - stripH, paintCanvas)
    }

    g.run { n in
        if n == 1 {
            drawStrip()
            canvas.fillRect(0, stripH, W, H - stripH, paintCanvas)
        }
        input.frame(n, resized: { boot in resized(boot) }) { e in handle(e) }
        if pointed && shown != (pointerX, pointerY) {
            plane.move(pointerX, pointerY)
            shown = (pointerX, pointerY)
        }
    }
}
