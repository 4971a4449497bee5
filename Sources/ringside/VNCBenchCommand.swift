#if canImport(Glibc)
import Glibc
#endif
import Bench
import Display
import Foundation
import KVM
import Machine
import RFB
import Synchronization
import Tracking
import VNCTracking

extension BenchCommand {
    /// What `ringside bench --vnc` measures: guests, sizes, frames and client counts.
    struct VNCBenchPlan {
        var names: [String]
        var sizes: [(Int, Int)]
        var frames: Int
        var warmup: Int
        /// --quick (for CI): Raw and ZRLE only.
        var encodingNames: [String]?
        var clientCounts: [Int]
        /// Seconds a client-scaling cell may take once 3 frames are measured.
        var budget: Double
        var system: KVMSystem
        var caps: HostCapabilities

        func config(_ name: String, _ w: Int, _ h: Int) throws -> MachineConfig {
            var c = MachineConfig(image: try GuestCatalog.load(name))
            c.width = w
            c.height = h
            return c
        }
    }

    /// `ringside bench --vnc`: one table of bytes and microseconds per guest frame for each
    /// (guest, size, server, encoding), then host cost against the number of clients, then
    /// update latency over loopback.
    func runVNCBench() throws -> Int32 {
        let p = try vncBenchPlan()
        try printEncodingTable(p)
        try printClientScaling(p)
        try printUpdateLatency(p)
        return 0
    }

    private func vncBenchPlan() throws -> VNCBenchPlan {
        let names = (guests ?? (quick ? "idle,desktop" : "idle,desktop,plasma")).split(separator: ",").map(String.init)
        var sizes: [(Int, Int)] = quick ? [(640, 400)] : [(1280, 800), (1920, 1080)]
        if let resolutions {
            sizes = []
            for part in resolutions.split(separator: ",") {
                let wh = part.lowercased().split(separator: "x").compactMap { Int($0) }
                guard wh.count == 2, (64...7680).contains(wh[0]), (64...4320).contains(wh[1]) else {
                    throw Failure("--resolutions '\(part)' is not a size: use WxH, e.g. 1280x800")
                }
                sizes.append((wh[0], wh[1]))
            }
        }
        let system = try KVMSystem(path: device)
        // --quick (for CI): one small size, Raw and ZRLE, 1 and 8 clients, short cells.
        return VNCBenchPlan(names: names, sizes: sizes, frames: frames ?? (quick ? 6 : 60), warmup: warmup ?? (quick ? 2 : 10),
                            encodingNames: quick ? ["Raw", "ZRLE"] : nil, clientCounts: quick ? [1, 8] : [1, 8, 32],
                            budget: quick ? 3.0 : 20.0, system: system, caps: try HostCapabilities(system: system))
    }

    private func printEncodingTable(_ p: VNCBenchPlan) throws {
        Console.out("ringside bench --vnc\(quick ? " --quick" : ""): \(p.frames) lockstep frames per guest and size after \(p.warmup) warm-up, 1 vCPU, tracking auto, tile 64x16;")
        Console.out("each client answers an incremental whole-screen request after every frame (encoded bytes counted, no socket).")
        Console.out("Each server has one surface (one copy of the frame) shared by its clients, which keep dirty bits only.")
        Console.out("ringside: the dirty tiles compared once per frame; compare: every tile compared once per frame (no dirty log); full: the whole screen every frame.")
        Console.out("changed = raw size of the pixels that differ from the previous frame; x changed = bytes / changed.")
        Console.out("Per frame: under the lock = the surface's copy of the repainted tiles (once for all its clients);")
        Console.out("compare = the surface's compare (once) and the client's take of its dirty bits; encode = from the shared frame, no lock held.")
        Console.out("")
        Console.out("| guest | size | frames changed | changed B/frame | server | encoding | updates | B/frame | x changed | us/frame | under the lock | compare | encode | harvest us (median) |")
        Console.out("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        for name in p.names {
            for (w, h) in p.sizes {
                let r = try VNCBench.measure(system: p.system, config: try p.config(name, w, h), mode: .auto, caps: p.caps,
                                             label: name, frames: p.frames, warmup: p.warmup, encodingNames: p.encodingNames)
                let harvest = median(r.harvestNanos) / 1000
                for l in r.lines {
                    let ratio = r.changedBytesPerFrame > 0 ? String(format: "%.2f", l.bytesPerFrame / r.changedBytesPerFrame) : (l.bytes == 0 ? "-" : "inf")
                    Console.out(String(format: "| %@ | %dx%d | %d/%d | %.0f | %@ | %@ | %d/%d | %.0f | %@ | %.0f | %.0f | %.0f | %.0f | %.0f |", name, w, h,
                                       r.changedFrames, r.frames, r.changedBytesPerFrame,
                                       l.server.rawValue, l.encoding, l.updates, l.frames, l.bytesPerFrame, ratio, l.microsPerFrame,
                                       l.lockMicrosPerFrame, l.findMicrosPerFrame, l.encodeMicrosPerFrame, harvest))
                }
            }
        }
    }

    private func printClientScaling(_ p: VNCBenchPlan) throws {
        var scaleGuests = p.names.filter { $0 == "desktop" || $0 == "plasma" }
        if scaleGuests.isEmpty { scaleGuests = [p.names[0]] }
        let (sw, sh) = p.sizes[0]
        Console.out("")
        Console.out("Host cost against clients (\(sw)x\(sh), ringside ZRLE, one server surface refreshed once per sync, dirty bits per client; all clients' time per frame;")
        Console.out(String(format: "a cell stops after %g s once 3 frames are measured, marked *):", p.budget))
        Console.out("")
        Console.out("| guest | clients | frames | harvest us (median) | under the lock us/frame | of which per client | snapshot copies/frame | snapshot KiB copied/frame | compare us/frame | encode us/frame | encode per client | B/frame per client |")
        Console.out("|---|---|---|---|---|---|---|---|---|---|---|---|")
        for guest in scaleGuests {
            for n in p.clientCounts {
                let r = try VNCBench.measure(system: p.system, config: try p.config(guest, sw, sh), mode: .auto, caps: p.caps, label: guest,
                                             frames: p.frames, warmup: p.warmup, servers: [.ringside], encodingNames: ["ZRLE"], clients: n,
                                             budgetSeconds: p.budget)
                guard let l = r.lines.first else { continue }
                Console.out(String(format: "| %@ | %d | %d%@ | %.0f | %.0f | %.1f | %.2f | %.1f | %.0f | %.0f | %.0f | %.0f |", guest, n, r.frames, r.budgetReached ? "*" : "",
                                   median(r.harvestNanos) / 1000, l.lockMicrosPerFrame, l.lockMicrosPerFrame / Double(n),
                                   Double(r.snapshotRefreshes) / Double(max(1, r.frames)), Double(r.snapshotBytes) / 1024 / Double(max(1, r.frames)), l.findMicrosPerFrame, l.encodeMicrosPerFrame,
                                   l.encodeMicrosPerFrame / Double(n), l.bytesPerFrame / Double(n)))
            }
        }
    }

    private func printUpdateLatency(_ p: VNCBenchPlan) throws {
        let latencyGuest = p.names.contains("desktop") ? "desktop" : p.names[0]
        let (sw, sh) = p.sizes[0]
        let seconds = quick ? 1.0 : 5.0
        Console.out("")
        Console.out("Update latency over loopback (\(latencyGuest) \(sw)x\(sh) at 60 Hz, \(Int(seconds)) s, the real RFB server, each client a thread reading as fast as it can):")
        Console.out("guest doorbell to the update's last byte written to the client's socket, over every update to every client;")
        Console.out("updates by requests (an incremental request after each update read) or continuous (EnableContinuousUpdates once, no requests);")
        Console.out("p99 of its parts: doorbell to the sync's damage published (syncer wake-up, harvest, copy), that to the server surface's read (hop to the refresh),")
        Console.out("and the read to the last byte (client wake, encode, write);")
        Console.out("refresh on: the oldest client's event loop (now) or the server's own loop, each client woken on its loop (before; one-client rows only):")
        Console.out("")
        Console.out("| encoding | clients | updates | p50 us | p99 us | p99 to sync us | p99 sync to read us | p99 read to written us | updates by | refresh on |")
        Console.out("|---|---|---|---|---|---|---|---|---|---|")
        var latencyRows: [(String, Int32, Int, Bool)] = [("Raw", 0, 1, false), ("Raw", 0, 1, true)]
        for continuous in [false, true] { for n in p.clientCounts { latencyRows.append(("ZRLE", 16, n, continuous)) } }
        for (label, e, n, continuous) in latencyRows {
            for clientLoop in n == 1 ? [false, true] : [true] {
                let l = try VNCLatencyProbe.measure(system: p.system, caps: p.caps, config: try p.config(latencyGuest, sw, sh), encoding: e, clients: n,
                                                    continuous: continuous, seconds: seconds, refreshOnClientLoop: clientLoop)
                Console.out(String(format: "| %@ | %d | %d | %.0f | %.0f | %.0f | %.0f | %.0f | %@ | %@ |", label, n, l.count, l.p50, l.p99, l.toSync99, l.toRead99,
                                   l.fromRead99, continuous ? "continuous" : "requests", clientLoop ? "client's loop" : "server's loop"))
            }
        }
    }

    private func median(_ a: [UInt64]) -> Double {
        guard !a.isEmpty else { return 0 }
        return Double(a.sorted()[a.count / 2])
    }
}
