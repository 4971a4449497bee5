import KVM

/// The one way the VMM writes guest memory: writes the bytes, then records the pages in the
/// machine's `GuestWriteLog`, so every dirty-page consumer (display, migration) sees VMM
/// writes exactly as it sees the guest's own.
struct GuestWriter {
    let slots: SlotTable
    let log: GuestWriteLog

    /// Copies `bytes` to guest-physical `gpa`. The range must lie inside one slot.
    func copy(_ bytes: UnsafeRawBufferPointer, to gpa: UInt64) {
        guard bytes.count > 0 else { return }
        let (slot, offset) = resolve(gpa, count: bytes.count)
        // SAFETY: `resolve` checked that [offset, offset + count) lies inside the slot's mapping.
        slot.memory.pointer(at: offset).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        mark(slot, offset: offset, count: bytes.count)
    }

    /// Stores `value` little-endian at guest-physical `gpa`.
    func store<T: FixedWidthInteger>(_ value: T, at gpa: UInt64) {
        let (slot, offset) = resolve(gpa, count: MemoryLayout<T>.size)
        // SAFETY: `resolve` checked the bytes lie inside the slot's mapping; storeBytes allows any alignment.
        slot.memory.pointer(at: offset).storeBytes(of: value.littleEndian, as: T.self)
        mark(slot, offset: offset, count: MemoryLayout<T>.size)
    }

    private func resolve(_ gpa: UInt64, count: Int) -> (MemorySlot, Int) {
        guard let slot = slots.slot(containing: gpa) else { preconditionFailure("VMM write to unmapped guest address 0x\(String(gpa, radix: 16))") }
        let offset = Int(gpa - slot.guestPhysicalAddress)
        precondition(offset + count <= slot.memory.size, "VMM write past the end of slot \(slot.id)")
        return (slot, offset)
    }

    private func mark(_ slot: MemorySlot, offset: Int, count: Int) {
        let first = UInt64(offset / GuestLayout.pageSize), last = UInt64((offset + count - 1) / GuestLayout.pageSize)
        log.record(slot: slot.id, pages: first...last)
    }
}
