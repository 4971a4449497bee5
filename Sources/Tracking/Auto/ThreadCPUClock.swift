import Glibc

/// CPU time the calling thread has used (ns): user and kernel, not time spent waiting to run.
/// Auto's costs are CPU time, so load on the host that preempts a sync or a measurement does
/// not make it look dearer (0 where the clock is not available).
func threadCPUNanos() -> UInt64 {
    var ts = timespec()
    guard clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) == 0 else { return 0 }
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}
