import Dispatch
import Foundation
import Input
import KVM
import Machine
import Synchronization

/// Input latency: from an event pushed into a running guest's input queue (as the window or
/// a VNC client would, at a random moment) to the frame doorbell that ends the first frame
/// the guest started after the push, i.e. the first frame that can show the event. Reported
/// in microseconds and in frames (doorbells of vCPU 0 from the push to that one).
///
/// A frame starts when vCPU 0 leaves the doorbell hold (paced) or at once (free-run), and
/// ends a draw time later at the next doorbell; its start is taken as that doorbell minus
/// the guest's mean draw time, measured first with the guest free-running. So an event that
/// lands while the guest waits at its doorbell is seen by the next frame, one that lands
/// mid-draw by the frame after.
///
/// A guest reads the queue when it starts a frame. A guest that does not (`guestReadsInput`
/// is false) has the probe consume for it at each of vCPU 0's doorbells, as a reading guest
/// would at the start of its next frame, so the ring never fills.
public enum InputLatencyProbe {
    public struct Result: Sendable {
        public var guest: String
        public var guestHz: Double
        public var samples: Int
        public var p50Micros: Double
        public var p99Micros: Double
        public var maxMicros: Double
        /// Doorbells from the push to the frame that can show it: the smallest and largest seen.
        public var framesMin: Int
        public var framesMax: Int
        /// Whether the guest consumed the queue itself.
        public var guestReadsInput: Bool
        /// The guest's mean time per frame free-running, which decides whether a push landed mid-draw.
        public var drawMicros: Double
    }

    /// times[f] = when vCPU 0 rang doorbell f (0: not yet), and the machine once it exists.
    final class Doorbells: Sendable {
        let times: Mutex<[UInt64]>
        let machine = Mutex<Machine?>(nil)
        init(capacity: Int) { times = Mutex([UInt64](repeating: 0, count: capacity)) }
    }

    /// Boots `config` (its pacing as given, no frame limit), pushes `samples` key events at
    /// random moments 0.5 to 1.5 frame periods apart (or 0.2 to 2 ms for a free-running guest),
    /// and stops.
    public static func measure(system: KVMSystem, config base: MachineConfig, label: String, samples: Int) throws(MachineError) -> Result {
        var config = base
        config.frameLimit = nil
        config.lockstep = false
        let drawNanos = try meanDrawNanos(system: system, config: config)
        let period = config.guestHz > 0 ? 1 / config.guestHz : 0.001
        let maxFrames = Int(Double(samples) * 2 * period / (config.guestHz > 0 ? period : 0.00001)) + 1_000_000
        let doorbells = Doorbells(capacity: min(maxFrames, 4_000_000))
        var events = MachineEvents()
        events.frameDone = { cpu, frame in
            guard cpu == 0, let m = doorbells.machine.withLock({ $0 }) else { return }
            let now = DispatchTime.now().uptimeNanoseconds
            doorbells.times.withLock { t in if frame < t.count { t[frame] = now } }
            if !m.input.guestReadsInput {
                // Play a guest that read everything at the start of the frame that just ended.
                let head = UnsafeRawPointer(m.ram.pointer(at: Int(GuestInputQueue.headAddress))).load(as: UInt32.self)
                m.storeGuest(head, at: GuestInputQueue.tailAddress)
            }
        }
        let m = try Machine(system: system, config: config, events: events)
        doorbells.machine.withLock { $0 = m }
        m.start()
        defer {
            m.stop()
            m.wait()
            doorbells.machine.withLock { $0 = nil } // the machine's events hold `doorbells`
        }
        Thread.sleep(forTimeInterval: 0.2) // past boot and the first frames
        let pushes = push(samples, into: m, period: config.guestHz > 0 ? period : nil)
        Thread.sleep(forTimeInterval: 3 * period + 0.05) // the last push's frame ends
        let readsInput = m.input.guestReadsInput
        m.stop()
        m.wait()
        let (micros, framesMin, framesMax) = latencies(pushes, doorbells: doorbells.times.withLock { $0 }, drawNanos: drawNanos)
        func pct(_ q: Double) -> Double { micros.isEmpty ? 0 : micros[min(micros.count - 1, Int(Double(micros.count) * q))] }
        return Result(guest: label, guestHz: config.guestHz, samples: micros.count, p50Micros: pct(0.5), p99Micros: pct(0.99),
                      maxMicros: micros.last ?? 0, framesMin: micros.isEmpty ? 0 : framesMin, framesMax: framesMax,
                      guestReadsInput: readsInput, drawMicros: Double(drawNanos) / 1000)
    }

    /// Pushes `samples` key events, 0.5 to 1.5 `period`s apart (or 0.2 to 2 ms without one);
    /// returns when each went in, with vCPU 0's frame count then.
    private static func push(_ samples: Int, into m: Machine, period: Double?) -> [(time: UInt64, frame: Int)] {
        var pushes: [(time: UInt64, frame: Int)] = []
        pushes.reserveCapacity(samples)
        var rng = SystemRandomNumberGenerator()
        for i in 0..<samples {
            let gap = period.map { Double.random(in: 0.5...1.5, using: &rng) * $0 } ?? Double.random(in: 0.0002...0.002, using: &rng)
            Thread.sleep(forTimeInterval: gap)
            let frame = m.frameCounts[0]
            let t = DispatchTime.now().uptimeNanoseconds
            m.input.push(.key(code: EvdevKey.code(named: "KEY_A")!, down: i % 2 == 0))
            pushes.append((t, frame))
        }
        return pushes
    }

    /// Each push's latency to the doorbell ending the first frame that can show it (us,
    /// sorted), and the fewest and most doorbells that took.
    private static func latencies(_ pushes: [(time: UInt64, frame: Int)], doorbells times: [UInt64],
                                  drawNanos: UInt64) -> (micros: [Double], framesMin: Int, framesMax: Int) {
        var micros: [Double] = []
        var framesMin = Int.max, framesMax = 0
        for p in pushes {
            // The frame in progress at the push (p.frame + 1) began before it unless vCPU 0 was
            // holding at doorbell p.frame when the push came: a paced guest spends its spare
            // time there, and the frame after the hold reads the queue afresh.
            var f = p.frame + 1
            while f < times.count, times[f] != 0, times[f] < p.time { f += 1 }
            guard f + 1 < times.count, times[f] != 0 else { continue }
            if p.time + drawNanos > times[f] { f += 1 } // frame f had begun drawing: it read the queue before the push
            guard times[f] != 0 else { continue }
            micros.append(Double(times[f] - p.time) / 1000)
            framesMin = min(framesMin, f - p.frame)
            framesMax = max(framesMax, f - p.frame)
        }
        return (micros.sorted(), framesMin, framesMax)
    }

    /// The guest's mean time per frame free-running (drawing plus the doorbell exit).
    static func meanDrawNanos(system: KVMSystem, config base: MachineConfig) throws(MachineError) -> UInt64 {
        var config = base
        config.guestHz = 0
        config.frameLimit = nil
        let m = try Machine(system: system, config: config)
        m.start()
        Thread.sleep(forTimeInterval: 0.1)
        let f0 = m.frameCounts[0], t0 = DispatchTime.now().uptimeNanoseconds
        Thread.sleep(forTimeInterval: 0.3)
        let f1 = m.frameCounts[0], t1 = DispatchTime.now().uptimeNanoseconds
        m.stop()
        m.wait()
        return (t1 - t0) / UInt64(max(1, f1 - f0))
    }
}
