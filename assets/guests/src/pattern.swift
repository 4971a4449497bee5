// pattern: a test guest. Every frame n it writes every pixel of its band:
//   pixel(x, y) = (R << 16) | (G << 8) | B with
//   R = (x + n) & 0xFF, G = (y + 2n) & 0xFF, B = (x ^ y) & 0xFF   (n = frame number, u32)
// No arguments.

@_cdecl("_start")
public func start(_ raw: UnsafeRawPointer) -> Never {
    let g = Guest(raw, name: "pattern")
    parseArguments(g.boot, guest: "pattern") { _, _ in .unknown }
    g.announce {}
    let fb = g.fb
    let w = fb.width
    g.run { n in
        let nn = Int(n)
        for y in fb.clipTop..<fb.clipBottom {
            let p = fb.row(y)
            let green = UInt32(truncatingIfNeeded: (y &+ 2 &* nn) & 0xFF) << 8
            var x = 0
            while x < w {
                p[x] = UInt32(truncatingIfNeeded: (x &+ nn) & 0xFF) << 16 | green | UInt32(truncatingIfNeeded: (x ^ y) & 0xFF)
                x &+= 1
            }
        }
    }
}
