#if canImport(Glibc)
import Glibc
#endif
import Foundation
import NIOCore

/// What the kernel says of this TCP connection (`TCP_INFO`): its smoothed round trip, its
/// retransmission timeout, its segment size and how many segments it has retransmitted.
struct KernelLinkInfo: Equatable {
    var roundTripSeconds: Double
    var retransmitTimeoutSeconds: Double
    var segmentBytes: Int
    var retransmittedSegments: Int
}

extension MigrationConnection {
    /// `TCP_INFO` for this connection; nil where the socket does not say.
    func kernelLinkInfo() async -> KernelLinkInfo? {
        #if os(Linux)
        guard let provider = channelToClose as? SocketOptionProvider,
              let info = try? await provider.getTCPInfo().get(), info.tcpi_rtt > 0 else { return nil }
        return KernelLinkInfo(roundTripSeconds: Double(info.tcpi_rtt) / 1e6, retransmitTimeoutSeconds: Double(info.tcpi_rto) / 1e6,
                              segmentBytes: Int(max(info.tcpi_snd_mss, 536)), retransmittedSegments: Int(info.tcpi_total_retrans))
        #else
        return nil
        #endif
    }
}

/// The link as the hand-over's estimate counts it. The round trip is the least seen, from the
/// hellos' timed exchange and the kernel's smoothed figure after each round (Karn's rule keeps
/// retransmissions out of it), so one lost hello does not make the link look slow for the whole
/// migration. On a link that loses packets, the hand-over's own segments may be lost too. It
/// is four flights, each waiting for the one before: the last set with the state and
/// `complete`, `ready`, `commit`, `started`; a flight that loses a segment at its tail waits
/// a retransmission timeout. `lossSeconds` allows for as many such waits as 95% of hand-overs
/// would meet at the loss rate seen so far (none on a link that has lost nothing).
struct LinkRoundTrip {
    private(set) var seconds: Double
    private(set) var retransmitTimeout = 0.0
    private(set) var segmentBytes = 1448
    /// Segments retransmitted over segments sent, so far.
    private(set) var lossRate = 0.0

    init(hello: Double) { seconds = hello }

    /// Segments are counted at most this large: a path's MTU, not loopback's 64 KiB segments.
    static let largestSegment = 1448
    /// Fewer retransmissions than this are not a lossy link: on a busy host a tail-loss probe
    /// fires now and then on loopback too, and counts as a retransmission.
    static let leastLosses = 4

    mutating func observe(_ info: KernelLinkInfo?, bytesSent: Int) {
        guard let info, info.roundTripSeconds.isFinite, info.roundTripSeconds > 0 else { return }
        seconds = min(seconds, info.roundTripSeconds)
        retransmitTimeout = info.retransmitTimeoutSeconds
        segmentBytes = min(max(info.segmentBytes, 1), Self.largestSegment)
        let segments = max(1, bytesSent / segmentBytes)
        let lost = info.retransmittedSegments >= Self.leastLosses ? info.retransmittedSegments : 0
        lossRate = min(1, Double(lost) / Double(segments))
    }

    /// Retransmission timeouts to allow for a hand-over whose first flight is `bytes` (the last
    /// set, the state, the digests): the 95th percentile of the flights that lose a segment.
    func lossSeconds(bytes: Int) -> Double {
        guard lossRate > 0, retransmitTimeout > 0 else { return 0 }
        let segments = [1 + bytes / max(segmentBytes, 1), 1, 1, 1]
        let lossy = segments.map { 1 - pow(1 - lossRate, Double($0)) }
        return Double(Self.percentile(lossy, covering: 0.95)) * retransmitTimeout
    }

    /// The least m with P(X <= m) >= `share`, X the number of events that happen, each
    /// independently with its probability in `chances` (a Poisson binomial distribution).
    static func percentile(_ chances: [Double], covering share: Double) -> Int {
        var p = [1.0] // p[k]: probability of k events among those seen so far
        for c in chances {
            var next = [Double](repeating: 0, count: p.count + 1)
            for (k, pk) in p.enumerated() {
                next[k] += pk * (1 - c)
                next[k + 1] += pk * c
            }
            p = next
        }
        var sum = 0.0
        for (k, pk) in p.enumerated() {
            sum += pk
            if sum >= share { return k }
        }
        return chances.count
    }
}
