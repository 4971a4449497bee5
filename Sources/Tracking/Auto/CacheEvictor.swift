#if os(Linux)
import Glibc
#endif
import Display

/// A buffer larger than the last-level cache: writing over it pushes a frame and its shadow
/// out of the cache, so a copy timed right after costs what it does between two guest frames
/// (the guest, and everything else, run in between). `--tracking auto` uses it once, at start,
/// to time its first estimate of an unlogged sync. Huge-page memory like the shadow's: on a
/// virtualized host 4 KiB pages of 64 MiB took 16384 page faults, about 0.35 s at start.
final class CacheEvictor {
    private let buffer: HugePageBuffer

    /// One and a half times the last-level cache (sysconf), 48 MiB where it is not known, at
    /// most 256 MiB: enough to push out a frame and its shadow (measured: a 1080p copy after
    /// it took 700-850 us, as the unlogged syncs that followed did; warm, 200-250 us).
    static var defaultByteCount: Int {
        #if os(Linux)
        let llc = max(sysconf(Int32(_SC_LEVEL3_CACHE_SIZE)), sysconf(Int32(_SC_LEVEL2_CACHE_SIZE)))
        if llc > 0 { return min(3 * llc / 2, 256 << 20) }
        #endif
        return 48 << 20
    }

    init(byteCount: Int = CacheEvictor.defaultByteCount) {
        buffer = HugePageBuffer(byteCount: byteCount)
    }

    /// Writes every byte of the buffer.
    func evict() {
        // SAFETY: the buffer holds `byteCount` bytes from `base`, owned by this object (memset:
        // a generic byte loop would take seconds in a debug build).
        _ = memset(buffer.base, Int32.random(in: 1...255), buffer.byteCount)
    }
}
