// modules: a test guest for boot modules (`ringside run --module PATH[=NAME]`, guest ABI
// version 3). vCPU 0 checks the boot info's module table and prints one line per module,
//   modules: NAME SIZE bytes at 0xGPA fnv1a 0xHASH        (FNV-1a 64 of the module's bytes)
// or `modules: none`. Every frame n each vCPU draws its band from the first module's bytes b
// (size s):
//   pixel(x, y) = (b[k % s] << 16) | (b[(k + 1) % s] << 8) | b[(k + 2) % s],  k = 3 * ((y + n - 1) * W + x)
// so the picture scrolls up one row a frame; black without a module or with an empty one.
//   check=K (default 0: never, 0..1000000): every K-th frame vCPU 0 hashes every module again
//   and prints `modules: frame n NAME fnv1a 0xHASH` (proves the bytes are still in RAM, e.g.
//   after a live migration).
// A boot info older than version 3 has no table: `modules: boot info version V has no module
// table (needs 3)`, and the guest runs as with none. A table that breaks the ABI (count over 64,
// an entry outside RAM, a name without its NUL) prints `modules: bad module table: ...` and
// exits with status 1.

struct Module {
    let base: UnsafePointer<UInt8>
    let size: Int
    let name: UnsafePointer<UInt8>
    let nameLength: Int
}

/// FNV-1a, 64 bits.
func fnv1a(_ m: Module) -> UInt64 {
    var h: UInt64 = 0xCBF2_9CE4_8422_2325
    var i = 0
    while i < m.size {
        h = (h ^ UInt64(m.base[i])) &* 0x0000_0100_0000_01B3
        i &+= 1
    }
    return h
}

func badTable(_ why: StaticString) -> Never {
    Console.line { Console.write("modules: bad module table: "); Console.write(why) }
    exitGuest(1)
}

/// The module table's entries, checked against the ABI (`struct rs_module`).
func readModules(_ boot: BootInfo, cpu: Int) -> (UnsafeMutablePointer<Module>, Int) {
    let list = UnsafeMutablePointer<Module>.allocate(capacity: Int(RS_MAX_MODULES))
    if boot.version < 3 {
        if cpu == 0 {
            Console.line {
                Console.write("modules: boot info version ")
                Console.write(Int(boot.version))
                Console.write(" has no module table (needs 3)")
            }
        }
        return (list, 0)
    }
    let count = boot.moduleCount
    let entryBytes = MemoryLayout<rs_module>.size
    if count > Int(RS_MAX_MODULES) { badTable("more than 64 modules") }
    if count > 0 && (boot.modulesAddress == 0 || boot.modulesAddress + UInt64(count * entryBytes) > boot.ramSize) {
        badTable("the table lies outside RAM")
    }
    for i in 0..<count {
        let entry = UnsafeRawPointer(bitPattern: UInt(boot.modulesAddress) + UInt(i * entryBytes))!
        let gpa = entry.load(as: UInt64.self)
        let size = entry.load(fromByteOffset: 8, as: UInt64.self)
        if gpa & 0xFFF != 0 || gpa < RS_IMAGE_BASE || gpa > boot.ramSize || size > boot.ramSize - gpa {
            badTable("a module lies outside the RAM after the VMM's pages")
        }
        let name = (entry + 16).assumingMemoryBound(to: UInt8.self)
        var length = 0
        while length < Int(RS_MODULE_NAME_BYTES) && name[length] != 0 { length += 1 }
        if length == Int(RS_MODULE_NAME_BYTES) { badTable("a name has no NUL") }
        let base = UnsafePointer<UInt8>(bitPattern: UInt(gpa))!
        list[i] = Module(base: base, size: Int(size), name: name, nameLength: length)
    }
    return (list, count)
}

func writeName(_ m: Module) {
    for i in 0..<m.nameLength { Console.byte(m.name[i]) }
}

@_cdecl("_start")
public func start(_ raw: UnsafeRawPointer) -> Never {
    let g = Guest(raw, name: "modules")
    var check = 0
    parseArguments(g.boot, guest: "modules") { key, value in
        if key == "check" { return parseInt(value, into: &check, 0, 1_000_000) }
        return .unknown
    }
    let (modules, count) = readModules(g.boot, cpu: g.cpu)
    g.announce { Console.write(" modules="); Console.write(count); Console.write(" check="); Console.write(check) }
    if g.cpu == 0 {
        if count == 0 { Console.line { Console.write("modules: none") } }
        for i in 0..<count {
            let m = modules[i]
            Console.line {
                Console.write("modules: ")
                writeName(m)
                Console.write(" ")
                Console.write(m.size)
                Console.write(" bytes at ")
                Console.writeHex(UInt64(UInt(bitPattern: m.base)))
                Console.write(" fnv1a ")
                Console.writeHex(fnv1a(m))
            }
        }
    }
    let fb = g.fb
    let w = fb.width
    g.run { n in
        if g.cpu == 0 && check > 0 && Int(n) % check == 0 {
            for i in 0..<count {
                let m = modules[i]
                Console.line {
                    Console.write("modules: frame ")
                    Console.write(Int(n))
                    Console.write(" ")
                    writeName(m)
                    Console.write(" fnv1a ")
                    Console.writeHex(fnv1a(m))
                }
            }
        }
        let size = count > 0 ? modules[0].size : 0
        for y in fb.clipTop..<fb.clipBottom {
            let p = fb.row(y)
            if size == 0 {
                p.update(repeating: 0, count: w)
                continue
            }
            let b = modules[0].base
            var k = (3 &* ((y &+ Int(n) &- 1) &* w)) % size
            for x in 0..<w {
                let r = UInt32(b[k]), k1 = k &+ 1 == size ? 0 : k &+ 1
                let gg = UInt32(b[k1]), k2 = k1 &+ 1 == size ? 0 : k1 &+ 1
                p[x] = r << 16 | gg << 8 | UInt32(b[k2])
                k = k2 &+ 1 == size ? 0 : k2 &+ 1
            }
        }
    }
}
