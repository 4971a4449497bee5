/// The downtime both sides report: from pausing the vCPUs at the source to starting them at
/// the destination. Neither side sees both moments on one clock, so each adds up the same
/// parts: the source's time paused until it sent the commit, the commit's way over the
/// network (half a round trip, measured: the source's from commit to started, the
/// destination's from ready to commit, each less the other side's time in between), and the
/// destination's time from the commit arriving to the vCPUs running. In Double arithmetic:
/// the numbers come from the wire, and no value of theirs can trap.
enum Downtime {
    static func seconds(pausedAtCommitNanos paused: UInt64, roundTripNanos: Double, resumeNanos resume: UInt64) -> Double {
        (Double(paused) + max(0, roundTripNanos) / 2 + Double(resume)) / 1e9
    }
}
