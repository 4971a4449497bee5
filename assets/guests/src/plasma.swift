// plasma: a full-screen animated plasma; every pixel changes every frame (the worst case).
// Per frame: pixel(x, y) = palette[(A[x] + B[y] + C[x + y] + D[x - y + height]) >> 2 & 255]
// from sine-table sums (Sine.swift) whose phases advance with the frame number,
// and a 256-colour palette that cycles with the frame number. Integer math only.
// No arguments.

@_cdecl("_start")
public func start(_ raw: UnsafeRawPointer) -> Never {
    let g = Guest(raw, name: "plasma")
    parseArguments(g.boot, guest: "plasma") { _, _ in .unknown }
    g.announce {}
    let fb = g.fb
    let w = fb.width, h = fb.height
    let colA = UnsafeMutablePointer<Int32>.allocate(capacity: w)
    let diag = UnsafeMutablePointer<Int32>.allocate(capacity: w + h)   // C[x + y]
    let anti = UnsafeMutablePointer<Int32>.allocate(capacity: w + h)   // D[x - y + h]
    let palette = UnsafeMutablePointer<UInt32>.allocate(capacity: 256)
    g.run { frame in
        let n = Int(frame)
        for x in 0..<w { colA[x] = Int32(sin8(((x * 5) >> 3) &+ 2 &* n) + sin8(((x * 3) >> 4) &- n)) }
        for i in 0..<(w + h) {
            diag[i] = Int32(sin8(((i * 3) >> 3) &+ 3 &* n))
            anti[i] = Int32(sin8((i >> 1) &- 2 &* n))
        }
        for i in 0..<256 {
            palette[i] = rgb(128 + sin8(i &+ n), 128 + sin8(i &+ 85 &+ n), 128 + sin8(i &+ 170 &+ n))
        }
        for y in fb.clipTop..<fb.clipBottom {
            let b = Int32(sin8(((y * 7) >> 4) &+ n) + sin8((y >> 2) &- 3 &* n))
            let p = fb.row(y)
            let d = diag + y
            let a = anti + (h - y)
            var x = 0
            while x < w {
                let v = (colA[x] &+ b &+ d[x] &+ a[x]) >> 2
                p[x] = palette[Int(v & 255)]
                x &+= 1
            }
        }
    }
}
