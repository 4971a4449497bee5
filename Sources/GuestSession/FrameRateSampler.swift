import Dispatch
import Synchronization

/// Guest frames per second over about the last second, sampled when asked: the rate between
/// the newest sample at least a second old and now (or since the first sample, before a
/// second has passed). Samples are kept a few seconds, so asking often costs nothing.
final class FrameRateSampler: Sendable {
    private struct Sample { var nanos: UInt64; var frames: Int }
    private let samples = Mutex<[Sample]>([])

    /// Records `frames` (the vCPUs' total, per vCPU) now and returns the rate.
    func rate(frames: Double) -> Double {
        let now = DispatchTime.now().uptimeNanoseconds
        return samples.withLock { list in
            list.append(Sample(nanos: now, frames: Int(frames)))
            list.removeAll { now - $0.nanos > 5_000_000_000 }
            let reference = list.last { now - $0.nanos >= 1_000_000_000 } ?? list[0]
            guard now > reference.nanos else { return 0 }
            return Double(Int(frames) - reference.frames) / (Double(now - reference.nanos) / 1e9)
        }
    }
}
