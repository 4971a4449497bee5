import KVM

/// The KVM side of a machine, built in the order KVM needs: the VM with dirty logging as
/// configured (the ring before any vCPU exists), RAM (slot 0) and framebuffer (slot 1) with
/// their contents, then the vCPUs, set up at the image's entry (long mode, CPL 3) or from a
/// snapshot. An incoming machine's memory stays zero and its vCPUs unset: a migration stream
/// fills them.
struct MachineHardware {
    let vm: VirtualMachine
    let ram: GuestMemory
    let framebuffer: GuestMemory
    let slots: SlotTable
    let writes: GuestWriteLog
    let vcpus: [VCPU]

    /// The VMM's tracked write API over these slots.
    var writer: GuestWriter { GuestWriter(slots: slots, log: writes) }

    init(system: KVMSystem, config: MachineConfig, snapshot: MachineSnapshot?, incoming: Bool) throws(KVMError) {
        vm = try system.createVM()
        let logging = try Self.enableLogging(config.dirtyLogging, on: vm)
        ram = try GuestMemory(size: Int(config.ramBytes), name: "guest RAM")
        framebuffer = try GuestMemory(size: config.framebufferSlotBytes, name: "framebuffer")
        let memorySlots = [
            MemorySlot(id: GuestLayout.ramSlot, name: "RAM", guestPhysicalAddress: 0, memory: ram),
            MemorySlot(id: GuestLayout.framebufferSlot, name: "framebuffer", guestPhysicalAddress: GuestLayout.framebuffer, memory: framebuffer),
        ]
        let logged = [logging && config.logRAM, logging]
        slots = SlotTable(memorySlots, logged: logged)
        writes = GuestWriteLog(pageCounts: memorySlots.map(\.pageCount))
        let writer = GuestWriter(slots: slots, log: writes)
        if let snapshot {
            MachineSnapshot.copy(snapshot.ram, into: memorySlots[0], with: writer)
            MachineSnapshot.copy(snapshot.framebuffer, into: memorySlots[1], with: writer)
        } else if !incoming {
            BootSetup.load(config.image, with: writer)
            BootSetup.writeTables(with: writer, ram: ram, config: config)
        }
        for slot in memorySlots {
            try vm.setMemoryRegion(slot: slot.id, guestPhysicalAddress: slot.guestPhysicalAddress, memory: slot.memory,
                                   logDirtyPages: logged[Int(slot.id)])
        }
        var cpus: [VCPU] = []
        for i in 0..<config.cpus {
            let v = try vm.createVCPU(index: i)
            if let snapshot {
                try v.loadState(snapshot.vcpus[i])
            } else if !incoming {
                try BootSetup.enterUserMode(v, entry: config.image.entry)
            }
            cpus.append(v)
        }
        vcpus = cpus
    }

    /// Turns dirty logging on as configured; whether the slots are to be logged. The ring must
    /// be enabled right after `KVM_CREATE_VM`, before any vCPU exists.
    private static func enableLogging(_ logging: DirtyLogging, on vm: VirtualMachine) throws(KVMError) -> Bool {
        switch logging {
        case .none:
            return false
        case .ring(let entries, let acqRel):
            try vm.enableDirtyRing(bytes: entries * HostCapabilities.ringEntryBytes, acquireRelease: acqRel)
            return true
        case .bitmap(let manual):
            if manual != 0 { try vm.enableManualDirtyLogProtect(flags: manual) }
            return true
        }
    }
}
