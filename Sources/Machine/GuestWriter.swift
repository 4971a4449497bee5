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

    /// Stores a 32-bit index with release ordering, for a ring the guest reads with acquire
    /// loads: every byte written before it is visible to the guest before the index is.
    func storeRelease(_ value: UInt32, at gpa: UInt64) {
        let (slot, offset) = resolve(gpa, count: 4)
        slot.memory.storeRelease(value, at: offset) // checks alignment; the guest only reads this word
        mark(slot, offset: offset, count: 4)
    }

    /// Loads a 32-bit index the guest publishes with a release store (acquire ordering).
    /// The value is the guest's: callers must treat it as untrusted.
    func loadAcquire(at gpa: UInt64) -> UInt32 {
        let (slot, offset) = resolve(gpa, count: 4)
        return slot.memory.loadAcquire(at: offset) // checks alignment; a racing guest store only changes the value read
    }

    /// Copies the guest's bytes at `gpa` into `buffer` (a read: nothing is marked). The
    /// bytes are the guest's: callers must treat them as untrusted.
    func read(into buffer: UnsafeMutableRawBufferPointer, from gpa: UInt64) {
        guard buffer.count > 0 else { return }
        let (slot, offset) = resolve(gpa, count: buffer.count)
        // SAFETY: resolved inside the slot's mapping; a racing guest store only changes the bytes read.
        buffer.baseAddress!.copyMemory(from: slot.memory.pointer(at: offset), byteCount: buffer.count)
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
