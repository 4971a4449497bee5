import Dispatch
import Synchronization

/// Guest frames per second over about the last second, sampled when asked: the rate between
/// the newest sample at least a second old and now (or, before there is one, since the
/// session started). Samples are kept a few seconds, so asking often costs nothing.
final class FrameRateSampler: Sendable {
    private struct Sample { var nanos: UInt64; var frames: Int }
    private let samples = Mutex<[Sample]>([])

    /// Records `frames` (the vCPUs' total, per vCPU) now and returns the rate; `start` is
    /// when the session started and its frames then.
    func rate(frames: Double, start: (nanos: UInt64, frames: Double)) -> Double {
        let now = DispatchTime.now().uptimeNanoseconds
        return samples.withLock { list in
            list.append(Sample(nanos: now, frames: Int(frames)))
            list.removeAll { now - $0.nanos > 5_000_000_000 }
            let reference = list.last { now - $0.nanos >= 1_000_000_000 } ?? Sample(nanos: start.nanos, frames: Int(start.frames))
            guard now > reference.nanos else { return 0 }
            return Double(Int(frames) - reference.frames) / (Double(now - reference.nanos) / 1e9)
        }
    }
}
