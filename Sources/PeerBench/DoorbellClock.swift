import Foundation
import QEMUPeer
import Synchronization

/// When each guest frame's doorbell rang, as the host sees it: a thread reads the counters
/// page's frame count from the VMM's memory every `interval` and stamps each new frame with
/// the time it first saw it. The same for both VMMs (GuestRAMView), so the error (up to the
/// interval plus scheduling) is the same too.
final class DoorbellClock: Sendable {
    private let state = Mutex<(stamps: [Int: UInt64], lastFrame: Int)>(([:], 0))
    private let poller = Poller(name: "doorbell-clock")

    init(ram: GuestRAMView, intervalMicros: UInt32 = 200) {
        poller.start { [self] in
            if let frames = ram.frames {
                let now = DispatchTime.now().uptimeNanoseconds
                state.withLock { s in
                    let f = Int(frames)
                    if f > s.lastFrame {
                        for n in (s.lastFrame + 1)...f where s.stamps[n] == nil { s.stamps[n] = now }
                        s.lastFrame = f
                    }
                }
            }
            return intervalMicros
        }
    }

    /// The newest frame seen so far.
    var frame: Int { state.withLock { $0.lastFrame } }

    /// When frame `n`'s doorbell was first seen (uptime ns).
    func time(of n: Int) -> UInt64? { state.withLock { $0.stamps[n] } }

    /// Frames whose doorbell was first seen in [from, to).
    func frames(between from: UInt64, and to: UInt64) -> [Int] {
        state.withLock { $0.stamps.filter { $0.value >= from && $0.value < to }.map(\.key).sorted() }
    }

    func stop() { poller.stop() }
}
