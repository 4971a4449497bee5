#if canImport(Glibc)
import Glibc
#endif
import NIOCore

extension MigrationConnection {
    /// The kernel's smoothed round trip of this TCP connection (`TCP_INFO`'s `tcpi_rtt`), in
    /// seconds; nil where the socket does not say. Unlike one timed exchange (the hellos'), it
    /// leaves out retransmissions (Karn's rule), so one packet lost on a lossy link does not
    /// make the link look slower than it is for the whole migration.
    func kernelRoundTrip() async -> Double? {
        #if os(Linux)
        guard let provider = channelToClose as? SocketOptionProvider,
              let info = try? await provider.getTCPInfo().get(), info.tcpi_rtt > 0 else { return nil }
        return Double(info.tcpi_rtt) / 1e6
        #else
        return nil
        #endif
    }
}

/// The round trip the hand-over's estimate counts: the least seen, from the hellos' timed
/// exchange and the kernel's smoothed figure after each round. A round trip inflated by a
/// retransmission or by the pre-copy's own queue is not what the commit will meet once the
/// queue has drained.
struct LinkRoundTrip {
    private(set) var seconds: Double

    init(hello: Double) { seconds = hello }

    mutating func observe(_ sample: Double?) {
        guard let sample, sample.isFinite, sample > 0 else { return }
        seconds = min(seconds, sample)
    }
}
