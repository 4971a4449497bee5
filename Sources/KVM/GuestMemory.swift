#if canImport(Glibc)
import Glibc
#endif

/// Anonymous host memory that backs a guest memory slot. Reserved with
/// `MAP_NORESERVE`, so untouched pages cost nothing: a 16 GiB slot is free until used.
/// Unmapped on deinit; the slot must be removed (or the VM closed) first.
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
}
