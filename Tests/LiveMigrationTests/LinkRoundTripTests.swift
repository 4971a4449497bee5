@testable import LiveMigration
import Testing

/// The link as the hand-over's estimate counts it: the least round trip seen, and an allowance
/// for retransmission timeouts only on a link that has lost segments.
@Suite("Link round trip")
struct LinkRoundTripTests {
    static func info(rtt: Double, rto: Double = 0.3, retransmitted: Int = 0) -> KernelLinkInfo {
        KernelLinkInfo(roundTripSeconds: rtt, retransmitTimeoutSeconds: rto, segmentBytes: 1000, retransmittedSegments: retransmitted)
    }

    @Test func theLeastRoundTripSeenCounts() {
        var link = LinkRoundTrip(hello: 0.3) // a hello retransmitted
        link.observe(Self.info(rtt: 0.05), bytesSent: 10_000)
        link.observe(Self.info(rtt: 0.08), bytesSent: 20_000) // the pre-copy's own queue
        link.observe(nil, bytesSent: 30_000)
        #expect(link.seconds == 0.05)
    }

    @Test func aLinkThatLostNothingNeedsNoAllowance() {
        var link = LinkRoundTrip(hello: 0.0001)
        link.observe(Self.info(rtt: 0.0001), bytesSent: 1 << 30)
        #expect(link.lossSeconds(bytes: 1 << 20) == 0)
    }

    @Test func aFewProbesOnABusyLoopbackAreNotALossyLink() {
        var link = LinkRoundTrip(hello: 0.0001)
        // Three retransmissions among 160 loopback segments of 64 KiB: tail-loss probes.
        link.observe(KernelLinkInfo(roundTripSeconds: 0.0001, retransmitTimeoutSeconds: 0.2, segmentBytes: 65483,
                                    retransmittedSegments: 3), bytesSent: 10 << 20)
        #expect(link.lossRate == 0)
        #expect(link.lossSeconds(bytes: 1 << 20) == 0)
    }

    @Test func aLossyLinkAllowsTheTimeoutsOf95PercentOfHandOvers() {
        var link = LinkRoundTrip(hello: 0.05)
        link.observe(Self.info(rtt: 0.05, rto: 0.3, retransmitted: 50), bytesSent: 1_000_000) // 5% of 1000 segments
        #expect(abs(link.lossRate - 0.05) < 1e-9)
        // Four flights of one segment at 5%: 0 lossy flights 81%, at most 1 98.6%.
        #expect(link.lossSeconds(bytes: 0) == 0.3)
        // A first flight of 100 segments is almost surely lossy: one more timeout.
        #expect(link.lossSeconds(bytes: 100_000) == 0.6)
    }

    @Test func thePercentileOfIndependentEvents() {
        #expect(LinkRoundTrip.percentile([], covering: 0.95) == 0)
        #expect(LinkRoundTrip.percentile([0.01, 0.01], covering: 0.95) == 0)
        #expect(LinkRoundTrip.percentile([1, 1, 0], covering: 0.95) == 2)
        #expect(LinkRoundTrip.percentile([0.5, 0.5], covering: 0.95) == 2, "P(at most 1) is 75%")
    }
}
