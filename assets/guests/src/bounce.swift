// bounce: squares bouncing around their vCPU's band. Each frame erases every square
// at its old position (background colour), moves it, and draws it at the new one.
//   sprites=N (default 16, 0..16384)  squares in total (vCPU i animates those with index % count == i)
//   size=S    (default 32, 1..4096)   edge length in pixels (clamped to the band)
//   seed=S    (default 1)             positions, velocities and colours
// Dirty pixels per frame ~ 2 * sprites * size^2 (the tunable dirty fraction).

struct Sprite {
    var x: Int
    var y: Int
    var vx: Int
    var vy: Int
    let color: UInt32
    let edge: UInt32
}

@_cdecl("_start")
public func start(_ raw: UnsafeRawPointer) -> Never {
    let g = Guest(raw, name: "bounce")
    var count = 16
    var size = 32
    var seed: UInt64 = 1
    parseArguments(g.boot, guest: "bounce") { key, value in
        if key == "sprites" { return parseInt(value, into: &count, 0, 16384) }
        if key == "size" { return parseInt(value, into: &size, 1, 4096) }
        if key == "seed" { return parseUInt64(value, into: &seed) }
        return .unknown
    }
    g.announce {
        Console.write(" sprites="); Console.write(count)
        Console.write(" size="); Console.write(size)
        Console.write(" seed="); Console.writeUnsigned(seed)
    }
    let fb = g.fb
    let background = rgb(0x1C, 0x24, 0x30)
    let s = min(size, fb.width, fb.clipBottom - fb.clipTop)
    let maxX = fb.width - s
    let minY = fb.clipTop, maxY = fb.clipBottom - s
    // Every vCPU generates all sprites from the same seed and keeps its own (index % cpus == cpu),
    // placed in its band.
    var rng = SplitMix64(seed: seed)
    var sprites: [Sprite] = []
    sprites.reserveCapacity(count / g.cpus + 1)
    for i in 0..<count {
        let fx = rng.next(), fy = rng.next(), v = rng.next(), c = rng.next()
        if i % g.cpus != g.cpu || s <= 0 { continue }
        let x = Int(truncatingIfNeeded: fx % UInt64(maxX + 1))
        let y = minY + Int(truncatingIfNeeded: fy % UInt64(maxY - minY + 1))
        var vx = 1 + Int(truncatingIfNeeded: v & 3) + Int(truncatingIfNeeded: (v >> 2) & 1) * 2  // 1...6
        var vy = 1 + Int(truncatingIfNeeded: (v >> 8) & 3) + Int(truncatingIfNeeded: (v >> 10) & 1) * 2
        if v & (1 << 16) != 0 { vx = -vx }
        if v & (1 << 17) != 0 { vy = -vy }
        let r = 0x60 + Int(truncatingIfNeeded: c & 0x9F), gg = 0x60 + Int(truncatingIfNeeded: (c >> 8) & 0x9F)
        let b = 0x60 + Int(truncatingIfNeeded: (c >> 16) & 0x9F)
        sprites.append(Sprite(x: x, y: y, vx: vx, vy: vy, color: rgb(r, gg, b), edge: rgb(r / 2, gg / 2, b / 2)))
    }
    g.run { n in
        if n == 1 {
            fb.fillRect(0, fb.clipTop, fb.width, fb.clipBottom - fb.clipTop, background)
        } else {
            for i in 0..<sprites.count { fb.fillRect(sprites[i].x, sprites[i].y, s, s, background) }
            for i in 0..<sprites.count {
                var sp = sprites[i]
                sp.x += sp.vx
                if sp.x < 0 { sp.x = -sp.x; sp.vx = -sp.vx }
                if sp.x > maxX { sp.x = max(0, 2 * maxX - sp.x); sp.vx = -sp.vx }
                sp.y += sp.vy
                if sp.y < minY { sp.y = min(maxY, 2 * minY - sp.y); sp.vy = -sp.vy }
                if sp.y > maxY { sp.y = max(minY, 2 * maxY - sp.y); sp.vy = -sp.vy }
                sprites[i] = sp
            }
        }
        for i in 0..<sprites.count {
            let sp = sprites[i]
            fb.fillRect(sp.x, sp.y, s, s, sp.edge)
            if s > 4 { fb.fillRect(sp.x + 2, sp.y + 2, s - 4, s - 4, sp.color) }
        }
    }
}
