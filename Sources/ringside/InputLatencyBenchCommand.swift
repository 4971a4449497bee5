import Bench
import Foundation
import KVM
import Machine

extension BenchCommand {
    /// `ringside bench --input-latency`: one line per (guest, pacing).
    func runInputLatencyBench() throws -> Int32 {
        let names = (guests ?? (quick ? "idle,desktop" : "idle,desktop,plasma")).split(separator: ",").map(String.init)
        let samples = quick ? 60 : 300
        let system = try KVMSystem(path: device)
        Console.out("ringside bench --input-latency: \(samples) key events per line at random moments, 1280x800, 1 vCPU; "
            + "latency = push to the doorbell ending the first frame started after it")
        Console.out("| guest | pacing | draw us/frame | events | p50 us | p99 us | max us | frames (min-max) | consumer |")
        Console.out("|---|---|---|---|---|---|---|---|---|")
        for name in names {
            let image = try GuestCatalog.load(name)
            for hz in [60.0, 0] {
                var config = MachineConfig(image: image)
                config.guestHz = hz
                let r = try InputLatencyProbe.measure(system: system, config: config, label: name, samples: samples)
                Console.out(String(format: "| %@ | %@ | %.1f | %d | %.0f | %.0f | %.0f | %d-%d | %@ |", r.guest, hz > 0 ? "60 Hz" : "free-run",
                                   r.drawMicros, r.samples, r.p50Micros, r.p99Micros, r.maxMicros, r.framesMin, r.framesMax,
                                   r.guestReadsInput ? "guest" : "probe (guest does not read input)"))
            }
        }
        return 0
    }
}
