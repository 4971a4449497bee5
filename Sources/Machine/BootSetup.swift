import KVM
internal import CGuestABI

/// Writes what the VMM owns in guest RAM (GDT, TSS, page tables, boot info, arguments)
/// and the register state that enters a guest image in 64-bit long mode at CPL 3.
enum BootSetup {
    static let kernelCode: UInt16 = 0x08, kernelData: UInt16 = 0x10
    static let userData: UInt16 = 0x18 | 3, userCode: UInt16 = 0x20 | 3, tssSelector: UInt16 = 0x28

    /// Copies each `PT_LOAD` segment's file bytes to its address; the rest of `p_memsz`
    /// is already zero (fresh anonymous memory).
    static func load(_ image: GuestImage, with writer: GuestWriter) {
        for s in image.segments where s.fileSize > 0 {
            s.bytes.withUnsafeBytes { bytes in
                // GuestImage.validate checked address + memorySize <= RAM size, and `bytes`
                // holds the segment's fileSize (<= memorySize) bytes.
                writer.copy(UnsafeRawBufferPointer(rebasing: bytes[0..<s.fileSize]), to: s.address)
            }
        }
    }

    static func writeTables(with writer: GuestWriter, ram: GuestMemory, config: MachineConfig) {
        writeGDT(with: writer)
        // TSS: I/O map base 0 and a zeroed TSS, so the permission bitmap allows ports 0...0x33F.
        // IOPL 3 alone grants port access on VMX/SVM, but PVM consults the bitmap (measured:
        // with the map base past the limit every `out` at CPL 3 faults).
        writePageTables(with: writer, ram: ram, config: config)

        let args = Array(config.arguments.utf8.prefix(GuestLayout.maxArgumentBytes)) + [0]
        args.withUnsafeBytes { writer.copy($0, to: GuestLayout.arguments) }

        GuestInputQueue.format(with: writer)
        // Only a guest that knows the cursor plane finds its page formatted; older ones find zeros there, as before.
        if config.abiVersion >= 4 { GuestCursorPlane.format(with: writer) }

        let heap = loadModules(config, with: writer)
        for cpu in 0..<config.cpus {
            writeBootInfo(cpu: cpu, config: config, argumentBytes: args.count - 1, heap: heap, with: writer) // without the NUL
        }
    }

    private static func writeGDT(with writer: GuestWriter) {
        let gdt: [UInt64] = [
            0,
            0x00AF_9A00_0000_FFFF, // 0x08 kernel code, 64-bit
            0x00CF_9200_0000_FFFF, // 0x10 kernel data
            0x00CF_F200_0000_FFFF, // 0x18 user data, DPL 3
            0x00AF_FA00_0000_FFFF, // 0x20 user code, DPL 3, 64-bit
            tssDescriptorLow(base: GuestLayout.tss, limit: 0x67),
            GuestLayout.tss >> 32,
        ]
        for (i, d) in gdt.enumerated() { writer.store(d, at: GuestLayout.gdt + UInt64(i * 8)) }
    }

    /// Identity maps RAM and the framebuffer slot with user-writable 2 MiB pages.
    private static func writePageTables(with writer: GuestWriter, ram: GuestMemory, config: MachineConfig) {
        writer.store(GuestLayout.pdpt | 7, at: GuestLayout.pml4)
        var nextDirectory = GuestLayout.pageDirectories
        func map(_ start: UInt64, _ length: UInt64) {
            var addr = start
            while addr < start + length {
                let gib = addr >> 30
                let pdptEntry = GuestLayout.pdpt + gib * 8
                var directory = load(at: pdptEntry, in: ram) & ~0xFFF
                if directory == 0 {
                    directory = nextDirectory
                    nextDirectory += 0x1000
                    writer.store(directory | 7, at: pdptEntry)
                }
                writer.store(addr | 0x87, at: directory + ((addr >> 21) & 511) * 8) // present, rw, user, 2 MiB
                addr += GuestLayout.largePage
            }
        }
        map(0, config.ramBytes)
        map(GuestLayout.framebuffer, UInt64(config.framebufferSlotBytes))
    }

    /// vCPU `cpu`'s boot block as the image's ABI version's document describes it: that
    /// version number, and only the fields it had (MachineConfig.validate refused modules
    /// before version 3).
    private static func writeBootInfo(cpu: Int, config: MachineConfig, argumentBytes: Int, heap: UInt64, with writer: GuestWriter) {
        let version = config.abiVersion
        var info = rs_boot_info()
        info.magic = GuestLayout.bootInfoMagic
        info.version = version
        info.framebuffer_gpa = GuestLayout.framebuffer
        info.framebuffer_size = UInt64(config.framebufferBytes)
        info.width = UInt32(config.width)
        info.height = UInt32(config.height)
        info.pitch = UInt32(config.framebufferPitch)
        info.format = GuestLayout.formatXRGB8888
        info.cpu_index = UInt32(cpu)
        info.cpu_count = UInt32(config.cpus)
        info.arguments_gpa = GuestLayout.arguments
        info.arguments_length = UInt32(argumentBytes)
        info.counters_gpa = GuestLayout.counters
        info.ram_size = config.ramBytes
        info.heap_gpa = heap
        info.heap_size = config.ramBytes - heap
        info.input_queue_gpa = GuestLayout.inputQueue
        info.modules_gpa = GuestLayout.modules
        info.module_count = UInt32(config.modules.count)
        info.cursor_gpa = GuestLayout.cursor
        withUnsafeBytes(of: &info) {
            writer.copy(UnsafeRawBufferPointer(rebasing: $0.prefix(GuestLayout.bootInfoBytes(version: version))), to: bootInfoAddress(cpu: cpu))
        }
    }

    /// Copies each boot module to its place after the image and lists it in the module table
    /// (`struct rs_module`); returns the heap's start, after the last module.
    /// MachineConfig.validate checked they fit in RAM, their count and their names.
    static func loadModules(_ config: MachineConfig, with writer: GuestWriter) -> UInt64 {
        let (addresses, heap) = config.modulePlacement
        for (i, (m, gpa)) in zip(config.modules, addresses).enumerated() {
            m.bytes.withUnsafeBytes { writer.copy($0, to: gpa) }
            var entry = rs_module()
            entry.gpa = gpa
            entry.size = UInt64(m.bytes.count)
            withUnsafeMutableBytes(of: &entry.name) { name in
                // SAFETY: at most maxNameBytes (47) bytes into the 48-byte field; the rest stays 0 (the NUL).
                for (j, b) in m.name.utf8.prefix(BootModule.maxNameBytes).enumerated() { name[j] = b }
            }
            withUnsafeBytes(of: &entry) { writer.copy($0, to: GuestLayout.modules + UInt64(i * MemoryLayout<rs_module>.size)) }
        }
        return heap
    }

    /// Writes a new mode's geometry into every vCPU's boot info (after a DISPI mode set).
    static func writeMode(_ mode: DisplayMode, cpus: Int, with writer: GuestWriter) {
        func offset(_ key: PartialKeyPath<rs_boot_info>) -> UInt64 { UInt64(MemoryLayout<rs_boot_info>.offset(of: key)!) }
        for cpu in 0..<cpus {
            let base = bootInfoAddress(cpu: cpu)
            writer.store(UInt64(mode.byteCount), at: base + offset(\rs_boot_info.framebuffer_size))
            writer.store(UInt32(mode.width), at: base + offset(\rs_boot_info.width))
            writer.store(UInt32(mode.height), at: base + offset(\rs_boot_info.height))
            writer.store(UInt32(mode.pitch), at: base + offset(\rs_boot_info.pitch))
        }
    }

    static func bootInfoAddress(cpu: Int) -> UInt64 { GuestLayout.bootInfo + UInt64(cpu) * GuestLayout.bootInfoStride }

    static func enterUserMode(_ vcpu: VCPU, entry: UInt64) throws(KVMError) {
        var s = try vcpu.specialRegisters() // keep KVM's reset values for what long mode does not set
        s.cs = Segment(limit: 0xFFFF_FFFF, selector: userCode, type: 11, dpl: 3, l: true, g: true)
        let data = Segment(limit: 0xFFFF_FFFF, selector: userData, type: 3, dpl: 3, db: true, g: true)
        s.ds = data; s.es = data; s.fs = data; s.gs = data; s.ss = data
        s.tr = Segment(base: GuestLayout.tss, limit: 0x67, selector: tssSelector, type: 11, s: false)
        s.gdt = DescriptorTable(base: GuestLayout.gdt, limit: 7 * 8 - 1)
        s.cr3 = GuestLayout.pml4
        s.cr4 = (1 << 5) | (1 << 9) | (1 << 10) // PAE, OSFXSR, OSXMMEXCPT
        s.cr0 = 0x8000_0033 // PG, NE, ET, MP, PE
        s.efer = (1 << 8) | (1 << 10) // LME, LMA
        try vcpu.setSpecialRegisters(s)
        var r = Registers() // every other general register zero, as the guest ABI says
        r.rip = entry
        r.rsp = GuestLayout.stacksTop - UInt64(vcpu.index) * GuestLayout.stackSize - 8
        r.rdi = bootInfoAddress(cpu: vcpu.index)
        r.rflags = 0x3002 // IOPL 3: the guest may use its doorbell ports from CPL 3
        try vcpu.setRegisters(r)
    }

    static func tssDescriptorLow(base: UInt64, limit: UInt64) -> UInt64 {
        (limit & 0xFFFF) | ((base & 0xFF_FFFF) << 16) | (UInt64(0x89) << 40) | (((limit >> 16) & 0xF) << 48) | (((base >> 24) & 0xFF) << 56)
    }

    static func load(at gpa: UInt64, in ram: GuestMemory) -> UInt64 {
        ram.pointer(at: Int(gpa)).load(as: UInt64.self)
    }
}
