// alternate: a workload that changes character, for `--tracking auto`. Phases of `period`
// frames alternate, starting quiet: frames 1..P quiet, P+1..2P animated, 2P+1..3P quiet ...
//   period=P (default 180, 1..1000000)  frames per phase
// Quiet phase: its first frame paints a desktop-like picture (a vertical gradient and three
// flat windows with title bars, `background(x, y)` below); each later frame k of the phase
// moves an 8x8 marker to x = 8 + 4k mod (W - 24), y = H/2 - 4, restoring the background
// under its old position: a sparse update of a few pages, like `desktop`'s cursor.
// Animated phase: every pixel changes every frame: pixel(x, y) = ramp((x/2 + y/2 + 5n) & 255),
// ramp(v) = rgb(v, 255 - v, 3v & 255) (one-to-one in v, and v moves by 5 each frame).
// The picture at frame n depends only on n, the period and the geometry; with several vCPUs
// each draws its own band.

let markerSize = 8

/// The quiet phase's picture at (x, y) without the marker.
@inline(__always)
func background(_ x: Int, _ y: Int, _ w: Int, _ h: Int) -> UInt32 {
    // Windows, topmost last: (left, top, width, height) as fractions of the screen.
    var colour = rgb(0x20, 0x30 + (y * 0x40) / max(h, 1), 0x60 + (y * 0x60) / max(h, 1))
    var i = 0
    while i < 3 {
        let left = i == 0 ? w / 10 : i == 1 ? w / 2 : w / 5
        let top = i == 0 ? h / 8 : i == 1 ? h / 5 : (h * 3) / 5
        let width = i == 0 ? (w * 3) / 10 : i == 1 ? (w * 2) / 5 : w / 3
        let height = i == 0 ? (h * 3) / 8 : i == 1 ? h / 2 : h / 4
        if x >= left && x < left + width && y >= top && y < top + height {
            colour = y < top + 20 ? rgb(0x2A, 0x5A, 0x98) : rgb(0xE8, 0xE8, 0xE4)
        }
        i += 1
    }
    return colour
}

@_cdecl("_start")
public func start(_ raw: UnsafeRawPointer) -> Never {
    let g = Guest(raw, name: "alternate")
    var period = 180
    parseArguments(g.boot, guest: "alternate") { key, value in
        if key == "period" { return parseInt(value, into: &period, 1, 1_000_000) }
        return .unknown
    }
    g.announce { Console.write(" period="); Console.write(period) }
    let fb = g.fb
    let w = fb.width, h = fb.height
    let markerY = h / 2 - markerSize / 2
    let track = max(w - 24, 1)
    func markerX(_ k: Int) -> Int { 8 + (4 * k) % track }
    /// Paints the background over [x0, x1) x [y0, y1), clipped to this vCPU's band.
    func restore(_ x0: Int, _ y0: Int, _ x1: Int, _ y1: Int) {
        let top = max(y0, fb.clipTop), bottom = min(y1, fb.clipBottom)
        let left = max(x0, 0), right = min(x1, w)
        guard top < bottom, left < right else { return }
        for y in top..<bottom {
            let p = fb.row(y)
            for x in left..<right { p[x] = background(x, y, w, h) }
        }
    }
    g.run { frame in
        let n = Int(frame)
        let phase = (n - 1) / period
        let k = (n - 1) % period
        if phase % 2 == 1 {
            let shift = 5 &* n
            for y in fb.clipTop..<fb.clipBottom {
                let p = fb.row(y)
                let base = (y >> 1) &+ shift
                var x = 0
                while x < w {
                    let v = ((x >> 1) &+ base) & 255
                    p[x] = rgb(v, 255 - v, (3 * v) & 255)
                    x &+= 1
                }
            }
            return
        }
        if k == 0 {
            restore(0, 0, w, h)
        } else {
            restore(markerX(k - 1), markerY, markerX(k - 1) + markerSize, markerY + markerSize)
        }
        fb.fillRect(markerX(k), markerY, markerSize, markerSize, rgb(0xF0, 0xC0, 0x20))
    }
}
