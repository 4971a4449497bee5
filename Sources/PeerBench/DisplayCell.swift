import Foundation

/// One client asking for the next update as soon as one arrives, against a VMM's VNC server:
/// what it gets per second, in bytes and in the VMM's CPU, how late, and whether each
/// update showed a whole frame of the guest.
struct DisplayMeasurement {
    var updates = 0
    var bytes = 0
    var cpuSeconds = 0.0
    var seconds = 0.0
    var latencyMs: [Double] = []
    var framesInWindow = 0
    var framesNeverSeen = 0
    var torn = 0
    /// Updates whose picture matched a frame past the references (not judged).
    var beyondReferences = 0
}

enum DisplayCell {
    /// Connects, takes the first whole-screen update, waits for the guest's `leadIn` frames,
    /// runs `warmup` seconds, then measures `seconds`. `references` (nil for lossy encodings) decide which frame each update shows.
    static func measure(_ vm: BenchVMM, encoding: RFBBenchClient.Encoding, references: FrameReferences?, leadIn: Int = 0,
                        warmup: Double, seconds: Double, abandon: () -> Bool) throws -> DisplayMeasurement {
        guard let port = vm.vncPort else { throw PeerBenchError("\(vm.vmm) has no VNC server") }
        let clock = DoorbellClock(ram: vm.ram)
        defer { clock.stop() }
        let client: RFBBenchClient
        do { client = try RFBBenchClient(host: "127.0.0.1", port: port, encoding: encoding) } catch {
            throw PeerBenchError("\(vm.vmm)'s VNC server: \(error)")
        }
        let now = { DispatchTime.now().uptimeNanoseconds }
        client.request(incremental: false)
        guard try client.readUpdate(deadline: now() + 30_000_000_000) != nil else { throw PeerBenchError("\(vm.vmm) sent no first update in 30 s") }
        try waitForLeadIn(vm, frames: leadIn, abandon: abandon) // the client waits, asking for nothing
        let windowStart = now() + UInt64(warmup * 1e9)
        let windowEnd = windowStart + UInt64(seconds * 1e9)
        var m = DisplayMeasurement()
        var cpu0: Double?
        var shown: [Int: UInt64] = [:] // frame -> last byte of the first update that showed it
        var newest = 0
        while now() < windowEnd {
            if abandon() { throw PeerBenchError("interrupted") }
            client.request(incremental: true)
            guard let u = try client.readUpdate(deadline: windowEnd + 2_000_000_000) else { break }
            if cpu0 == nil && u.lastByteNanos >= windowStart { cpu0 = vm.cpuSeconds }
            guard u.lastByteNanos >= windowStart, u.lastByteNanos < windowEnd else { continue }
            m.updates += 1
            m.bytes += u.bytes
            guard let references else { continue }
            let candidates = references.frames(matching: client.pictureHash)
            let ceiling = clock.frame
            if candidates.isEmpty {
                if ceiling > references.count { m.beyondReferences += 1 } else { m.torn += 1 }
                continue
            }
            // A picture can repeat (plasma's palette cycles): take the frame nearest the clock.
            let n = candidates.min { abs($0 - ceiling) < abs($1 - ceiling) }!
            if n > newest { newest = n }
            if shown[n] == nil { shown[n] = u.lastByteNanos }
        }
        m.cpuSeconds = max(0, (vm.cpuSeconds ?? 0) - (cpu0 ?? vm.cpuSeconds ?? 0))
        m.seconds = seconds
        guard references != nil else { return m }
        let judged = clock.frames(between: windowStart, and: windowEnd - 100_000_000)
        m.framesInWindow = judged.count
        m.framesNeverSeen = judged.filter { shown[$0] == nil }.count
        for n in judged {
            if let shownAt = shown[n], let rang = clock.time(of: n), shownAt >= rang { m.latencyMs.append(Double(shownAt - rang) / 1e6) }
        }
        m.latencyMs.sort()
        return m
    }
}

extension Array where Element == Double {
    /// The p-th quantile of a sorted array (nil when empty).
    func quantile(_ p: Double) -> Double? {
        isEmpty ? nil : self[Swift.min(count - 1, Int(Double(count - 1) * p + 0.5))]
    }
}
