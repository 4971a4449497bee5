import Foundation
import QEMUPeer

/// When each guest frame's doorbell rang, as the host sees it: a thread reads the counters
/// page's frame count from the VMM's memory every `interval` and stamps each new frame with
/// the time it first saw it. The same for both VMMs (GuestRAMView), so the error (up to the
/// interval plus scheduling) is the same too.
final class DoorbellClock: @unchecked Sendable {
    private let ram: GuestRAMView
    private let lock = NSLock()
    private var stamps: [Int: UInt64] = [:]
    private var lastFrame = 0
    private var stopped = false
    private var thread: Thread?
    private let done = DispatchSemaphore(value: 0)

    init(ram: GuestRAMView, intervalMicros: UInt32 = 200) {
        self.ram = ram
        let t = Thread { [self] in
            while !lock.withLock({ stopped }) {
                if let frames = ram.frames {
                    let now = DispatchTime.now().uptimeNanoseconds
                    lock.withLock {
                        let f = Int(frames)
                        if f > lastFrame {
                            for n in (lastFrame + 1)...f where stamps[n] == nil { stamps[n] = now }
                            lastFrame = f
                        }
                    }
                }
                usleep(intervalMicros)
            }
            done.signal()
        }
        t.name = "doorbell-clock"
        thread = t
        t.start()
    }

    /// The newest frame seen so far.
    var frame: Int { lock.withLock { lastFrame } }

    /// When frame `n`'s doorbell was first seen (uptime ns).
    func time(of n: Int) -> UInt64? { lock.withLock { stamps[n] } }

    /// Frames whose doorbell was first seen in [from, to).
    func frames(between from: UInt64, and to: UInt64) -> [Int] {
        lock.withLock { stamps.filter { $0.value >= from && $0.value < to }.map(\.key).sorted() }
    }

    func stop() {
        lock.withLock { stopped = true }
        done.wait()
    }
}
