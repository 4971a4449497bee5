import KVM
import Synchronization

/// One KVM memory slot of the machine: its id, where the guest sees it, the host memory
/// behind it, and whether KVM dirty-logs it now.
public struct MemorySlot: Sendable {
    public let id: UInt32
    /// A short name for messages and pictures ("RAM", "framebuffer").
    public let name: String
    public let guestPhysicalAddress: UInt64
    public let memory: GuestMemory
    public var pageCount: Int { memory.size / GuestLayout.pageSize }

    /// Whether guest-physical `address` lies in this slot.
    public func contains(_ address: UInt64) -> Bool {
        address >= guestPhysicalAddress && address - guestPhysicalAddress < UInt64(memory.size)
    }
}

/// The machine's slots, indexed by id, and which of them KVM logs. Logging can change while
/// the guest runs (`KVM_SET_USER_MEMORY_REGION` with or without `KVM_MEM_LOG_DIRTY_PAGES`).
final class SlotTable: Sendable {
    let slots: [MemorySlot]
    private let logged: Mutex<[Bool]>

    init(_ slots: [MemorySlot], logged: [Bool]) {
        precondition(slots.enumerated().allSatisfy { UInt32($0.offset) == $0.element.id }, "slot ids are their indices")
        self.slots = slots
        self.logged = Mutex(logged)
    }

    func isLogged(_ id: UInt32) -> Bool { logged.withLock { Int(id) < $0.count && $0[Int(id)] } }

    func setLogged(_ id: UInt32, _ on: Bool) { logged.withLock { $0[Int(id)] = on } }

    /// The slot holding guest-physical `address`, if any.
    func slot(containing address: UInt64) -> MemorySlot? { slots.first { $0.contains(address) } }
}

extension Machine {
    /// Every memory slot, indexed by id.
    public var slots: [MemorySlot] { slotTable.slots }

    /// Whether KVM dirty-logs slot `id` now.
    public func isDirtyLogged(slot id: UInt32) -> Bool { slotTable.isLogged(id) }

    /// Starts or stops KVM dirty logging of slot `id` while the guest runs
    /// (`KVM_SET_USER_MEMORY_REGION` with the flag changed). Only for a machine booted with
    /// ring or bitmap logging. Turning it on write-protects the slot, so every later guest
    /// write is reported; callers treat every page as dirty once, for what came before.
    public func setDirtyLogging(slot id: UInt32, enabled: Bool) throws(KVMError) {
        precondition(config.dirtyLogging != .none, "this machine was booted without dirty logging")
        let slot = slotTable.slots[Int(id)]
        guard slotTable.isLogged(id) != enabled else { return }
        try vm.setMemoryRegion(slot: id, guestPhysicalAddress: slot.guestPhysicalAddress, memory: slot.memory, logDirtyPages: enabled)
        slotTable.setLogged(id, enabled)
    }

    /// Writes `bytes` into guest memory at guest-physical `gpa` and marks the pages dirty for
    /// every consumer. The only way the VMM should write guest memory while it runs.
    public func writeGuest(_ bytes: UnsafeRawBufferPointer, at gpa: UInt64) {
        GuestWriter(slots: slotTable, log: guestWrites).copy(bytes, to: gpa)
    }

    /// Stores `value` little-endian at guest-physical `gpa`, marking its page dirty.
    public func storeGuest<T: FixedWidthInteger>(_ value: T, at gpa: UInt64) {
        GuestWriter(slots: slotTable, log: guestWrites).store(value, at: gpa)
    }

    /// Hands the harvest every page the VMM wrote since the last call, as `(slot, page)`.
    /// Callers serialize harvests.
    public func drainGuestWrites(_ body: (UInt32, UInt64) -> Void) { guestWrites.drain(body) }
}
