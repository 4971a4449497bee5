// pagewriter: a test guest for the VMM's no-lost-page tests (see README.md, "pagewriter").
//   pages=K (default 64)  pages written per frame
//   seed=S  (default 1)   PRNG seed
//   ram=1|0 (default 1)   choose among heap pages
//   fb=1|0  (default 1)   choose among framebuffer pages
// Each frame n: K times, pick candidate page c = splitmix64() % T and store the
// u64 n (little-endian) in the first 8 bytes of that page; then ring doorbell n.

@_cdecl("_start")
public func start(_ raw: UnsafeRawPointer) -> Never {
    let g = Guest(raw, name: "pagewriter")
    var pages = 64
    var seed: UInt64 = 1
    var ram = true
    var fbOn = true
    parseArguments(g.boot, guest: "pagewriter") { key, value in
        if key == "pages" { return parseInt(value, into: &pages, 0, 1 << 24) }
        if key == "seed" { return parseUInt64(value, into: &seed) }
        if key == "ram" { return parseBool(value, into: &ram) }
        if key == "fb" { return parseBool(value, into: &fbOn) }
        return .unknown
    }
    let boot = g.boot
    let cpu = UInt64(g.cpu), cpus = UInt64(g.cpus)
    // heap pages of this vCPU: [cpu * P / cpus, (cpu + 1) * P / cpus), P = heapSize / 4096
    let heapPages = boot.heapSize / 4096
    let heapFirst = ram ? cpu * heapPages / cpus : 0
    let heapEnd = ram ? (cpu + 1) * heapPages / cpus : 0
    // framebuffer pages of this vCPU: those whose first byte lies in its band of rows
    let pitch = UInt64(boot.pitch)
    let fbFirst = fbOn ? (UInt64(g.fb.clipTop) * pitch + 4095) / 4096 : 0
    let fbEnd = fbOn ? (UInt64(g.fb.clipBottom) * pitch + 4095) / 4096 : 0
    let heapCount = heapEnd - heapFirst
    let total = heapCount + (fbEnd - fbFirst)
    g.announce {
        Console.write(" pages="); Console.write(pages)
        Console.write(" seed="); Console.writeUnsigned(seed)
        Console.write(" ram="); Console.write(ram ? 1 : 0)
        Console.write(" fb="); Console.write(fbOn ? 1 : 0)
        Console.write(" candidates="); Console.writeUnsigned(total)
        Console.write(" (heap "); Console.writeUnsigned(heapFirst)
        Console.write("+"); Console.writeUnsigned(heapCount)
        Console.write(", fb "); Console.writeUnsigned(fbFirst)
        Console.write("+"); Console.writeUnsigned(fbEnd - fbFirst)
        Console.write(")")
    }
    if total == 0 {
        Console.line { Console.write("pagewriter: no candidate pages (ram=0 fb=0?)") }
        exitGuest(1)
    }
    let heapBase = boot.heapAddress + heapFirst * 4096
    let fbBase = boot.framebufferAddress + fbFirst * 4096
    var rng = SplitMix64(seed: seed ^ (cpu << 32))
    g.run { n in
        let value = UInt64(n)
        for _ in 0..<pages {
            let c = rng.next() % total
            let address = c < heapCount ? heapBase + c * 4096 : fbBase + (c - heapCount) * 4096
            UnsafeMutablePointer<UInt64>(bitPattern: UInt(address))!.pointee = value
        }
    }
}
