#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Memory for a large buffer that is touched sparsely and often: the shadow framebuffer, and
/// auto's cache evictor. Zeroed and faulted in at creation, so its first use pays no page
/// faults. From 2 MiB up, an anonymous mapping aligned to 2 MiB with `MADV_HUGEPAGE`, so the
/// kernel can back it with huge pages (when THP is `always` or `madvise`); smaller ones, or
/// where that fails, ordinary heap memory aligned to a cache line. Freed in `deinit`.
///
/// Not `Sendable`: who writes through `base`, and when, is its owner's business (a shadow,
/// the cache evictor, the window's tinted copy); the owner orders its threads' accesses.
public final class HugePageBuffer {
    static let hugePageSize = 2 << 20
    /// The first of `byteCount` usable bytes.
    public let base: UnsafeMutableRawPointer
    public let byteCount: Int
    /// Whether `base` is the mapping below (unmapped in `deinit`) rather than heap memory.
    public let hugePages: Bool
    private let mapping: UnsafeMutableRawPointer?
    private let mappingBytes: Int

    public init(byteCount: Int) {
        let bytes = max(byteCount, 1)
        self.byteCount = bytes
        #if os(Linux)
        if bytes >= Self.hugePageSize {
            let rounded = (bytes + Self.hugePageSize - 1) / Self.hugePageSize * Self.hugePageSize
            // One huge page more than needed, so an aligned start lies inside it.
            let length = rounded + Self.hugePageSize
            if let p = mmap(nil, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), p != MAP_FAILED {
                let misalign = Int(bitPattern: p) % Self.hugePageSize
                let aligned = p + (misalign == 0 ? 0 : Self.hugePageSize - misalign)
                // Advice only: refused (THP off) it leaves ordinary pages, which work the same.
                _ = madvise(aligned, rounded, MADV_HUGEPAGE)
                // SAFETY: [aligned, aligned + rounded) lies inside the mapping just made (memset,
                // not a generic byte loop, which takes a second for 48 MiB in a debug build).
                _ = memset(aligned, 0, rounded)
                base = aligned
                mapping = p
                mappingBytes = length
                hugePages = true
                return
            }
        }
        #endif
        base = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        _ = memset(base, 0, bytes) // SAFETY: `bytes` were just allocated at `base`
        mapping = nil
        mappingBytes = 0
        hugePages = false
    }

    deinit {
        if let mapping {
            #if os(Linux)
            munmap(mapping, mappingBytes)
            #endif
        } else {
            base.deallocate()
        }
    }
}
