internal import CKVM
#if canImport(Glibc)
import Glibc
#endif

/// Anonymous host memory that backs a guest memory slot. Reserved with
/// `MAP_NORESERVE`, so untouched pages cost nothing: a 16 GiB slot is free until used.
/// Unmapped on deinit; the slot must be removed (or the VM closed) first.
// @unchecked: an immutable pointer and size; the bytes are the guest's, read where the protocol says they are stable.
public final class GuestMemory: @unchecked Sendable {
    public let base: UnsafeMutableRawPointer
    public let size: Int

    public init(size: Int, name: String) throws(KVMError) {
        let p = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
        guard let p, p != MAP_FAILED else {
            throw .ioctl(.mmapGuestMemory(bytes: size, name: name), errno: Glibc.errno)
        }
        base = p
        self.size = size
    }

    deinit { munmap(base, size) }

    /// A pointer `offset` bytes in. Guest memory is shared with the running guest:
    /// callers read it only where the tracking protocol says the bytes are stable.
    public func pointer(at offset: Int) -> UnsafeMutableRawPointer {
        precondition(offset >= 0 && offset <= size, "offset outside guest memory")
        return base + offset
    }

    /// Loads the aligned 32-bit word at `offset` with acquire ordering: the index of a ring
    /// the guest publishes with release stores. The value is the guest's: treat it as untrusted.
    public func loadAcquire(at offset: Int) -> UInt32 {
        // SAFETY: `word(at:)` checked the four bytes lie inside the mapping and are aligned;
        // a racing guest store only changes the value read.
        ckvm_load_acquire_u32(word(at: offset))
    }

    /// Stores the aligned 32-bit word at `offset` with release ordering: a ring index the
    /// guest reads with acquire loads, so every byte written before it is visible first.
    public func storeRelease(_ value: UInt32, at offset: Int) {
        // SAFETY: `word(at:)` checked the four bytes lie inside the mapping and are aligned.
        ckvm_store_release_u32(word(at: offset), value)
    }

    private func word(at offset: Int) -> UnsafeMutablePointer<UInt32> {
        precondition(offset >= 0 && offset + 4 <= size && offset % 4 == 0, "a shared index must be an aligned word inside guest memory")
        return (base + offset).assumingMemoryBound(to: UInt32.self)
    }
}
