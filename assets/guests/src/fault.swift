// fault: a test guest that ends badly on purpose.
//   kind=ud2 (default)  print a line, then execute ud2 (invalid opcode -> triple fault)
//   kind=pf             write to 0x8000000000 (512 GiB, never mapped) -> page fault -> triple fault
//   kind=exit status=N  write N (dword) to port 0xF4 (default N = 0)
//   after=K             first draw and ring K frames (the pattern guest's picture), default 0

@_cdecl("_start")
public func start(_ raw: UnsafeRawPointer) -> Never {
    let g = Guest(raw, name: "fault")
    var kind = 0  // 0 = ud2, 1 = pf, 2 = exit
    var status = 0
    var after = 0
    parseArguments(g.boot, guest: "fault") { key, value in
        if key == "kind" {
            if value == "ud2" { kind = 0 } else if value == "pf" { kind = 1 } else if value == "exit" { kind = 2 } else { return .invalid }
            return .ok
        }
        if key == "status" { return parseInt(value, into: &status, 0, 0x7FFF_FFFF) }
        if key == "after" { return parseInt(value, into: &after, 0, 1 << 30) }
        return .unknown
    }
    g.announce {
        Console.write(kind == 0 ? " kind=ud2" : kind == 1 ? " kind=pf" : " kind=exit status=")
        if kind == 2 { Console.write(status) }
        Console.write(" after=")
        Console.write(after)
    }
    let fb = g.fb
    var n = 1
    while n <= after {
        for y in fb.clipTop..<fb.clipBottom {
            let p = fb.row(y)
            for x in 0..<fb.width {
                p[x] = UInt32(truncatingIfNeeded: (x &+ n) & 0xFF) << 16 | UInt32(truncatingIfNeeded: (y &+ 2 &* n) & 0xFF) << 8
                    | UInt32(truncatingIfNeeded: (x ^ y) & 0xFF)
            }
        }
        doorbell(UInt32(truncatingIfNeeded: n))
        n += 1
    }
    switch kind {
    case 1:
        Console.line { Console.write("fault: writing to unmapped address 0x8000000000") }
        rs_poke(0x80_0000_0000, 1)
        Console.line { Console.write("fault: the write did not fault") }
        exitGuest(2)
    case 2:
        Console.line { Console.write("fault: exit status "); Console.write(status) }
        exitGuest(UInt32(status))
    default:
        Console.line { Console.write("fault: executing ud2") }
        rs_ud2()
    }
}
