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
        Console.out("updates by requests (an incremental request after each update read) or continuous (EnableContinuousUpdates once, no requests):")
        Console.out("")
        Console.out("| encoding | clients | updates | p50 us | p99 us | updates by |")
        Console.out("|---|---|---|---|---|---|")
        var latencyRows: [(String, Int32, Int, Bool)] = [("Raw", 0, 1, false), ("Raw", 0, 1, true)]
        for continuous in [false, true] { for n in p.clientCounts { latencyRows.append(("ZRLE", 16, n, continuous)) } }
        for (label, e, n, continuous) in latencyRows {
            let l = try VNCLatencyProbe.measure(system: p.system, caps: p.caps, config: try p.config(latencyGuest, sw, sh), encoding: e, clients: n,
                                                continuous: continuous, seconds: seconds)
            Console.out(String(format: "| %@ | %d | %d | %.0f | %.0f | %@ |", label, n, l.count, l.p50, l.p99, continuous ? "continuous" : "requests"))
        }
    }

    private func median(_ a: [UInt64]) -> Double {
        guard !a.isEmpty else { return 0 }
        return Double(a.sorted()[a.count / 2])
    }
}

/// Update latency over a real socket: the guest at 60 Hz, a sync after each doorbell, the
/// RFB server on loopback and `clients` clients, each a thread reading as fast as it can
/// (incremental requests).
/// For each update: from the doorbell of the newest frame whose sync had published its
/// damage (the session's sync observers, called before the server's refresh is queued) when
/// the server surface read the display the update shows, to the completion of the update's
/// write to the socket. (The end of `sync()` comes after the observers: a refresh, and so an
/// update, can read the display before it, and was counted against the frame before.)
enum VNCLatencyProbe {
    /// What the doorbells, the syncs and the server's writes record, and the stop flag.
    final class Log: Sendable {
        struct State {
            var doorbell: UInt64 = 0
            /// Per sync that repainted something: its doorbell, and when it published its damage.
            var syncs: [(doorbell: UInt64, end: UInt64)] = []
            var syncing: UInt64 = 0
            var writes: [(read: UInt64, written: UInt64)] = []
            var stop = false
        }
        let state = Mutex(State())
        let bell = DispatchSemaphore(value: 0)
        var stopped: Bool { state.withLock { $0.stop } }
    }

    static func measure(system: KVMSystem, caps: HostCapabilities, config base: MachineConfig, encoding: Int32, clients: Int,
                        continuous: Bool, seconds: Double) throws -> (p50: Double, p99: Double, count: Int) {
        let log = Log()
        let session = try pacedSession(system: system, caps: caps, config: base, log: log)
        // Registered before the server's: it runs first at each sync.
        session.onSync {
            let now = DispatchTime.now().uptimeNanoseconds
            log.state.withLock { s in
                let d = s.syncing
                s.syncs.append((d, now))
            }
        }
        var o = RFBServerOptions()
        o.updateWritten = { read, written in log.state.withLock { $0.writes.append((read, written)) } }
        let server = try TrackingVNCServer(session: session, name: "bench", plan: VNCListenPlan(tcp: ("127.0.0.1", 0), websocket: nil, password: nil),
                                           input: nil, options: o, log: { _ in })
        defer { server.stop() }
        let port = server.tcpPort ?? 0
        let syncer = Thread {
            while !log.stopped {
                if log.bell.wait(timeout: .now() + .milliseconds(100)) == .timedOut { continue }
                log.state.withLock { $0.syncing = $0.doorbell }
                _ = try? session.sync()
            }
        }
        session.machine.start()
        syncer.start()
        for _ in 0..<clients {
            let client = Thread { readUpdates(port: port, encoding: encoding, continuous: continuous, until: { log.stopped }) }
            client.start()
        }
        // The clients' first, whole-screen updates are not counted: only writes of damage
        // read after this warm-up.
        Thread.sleep(forTimeInterval: min(1, seconds / 2))
        let measureFrom = DispatchTime.now().uptimeNanoseconds
        Thread.sleep(forTimeInterval: seconds)
        log.state.withLock { $0.stop = true }
        session.machine.stop()
        session.machine.wait()
        Thread.sleep(forTimeInterval: 0.3)
        return latencies(log.state.withLock { ($0.syncs, $0.writes) }, from: measureFrom)
    }

    /// The guest paced at 60 Hz, its doorbells stamped into `log` and ringing its bell.
    private static func pacedSession(system: KVMSystem, caps: HostCapabilities, config base: MachineConfig, log: Log) throws -> TrackingSession {
        var config = base
        config.guestHz = 60
        config.lockstep = false
        config.frameLimit = nil
        var events = MachineEvents()
        events.frameDone = { cpu, _ in
            guard cpu == 0 else { return }
            log.state.withLock { $0.doorbell = DispatchTime.now().uptimeNanoseconds }
            log.bell.signal()
        }
        let plan = try TrackingPlan.make(mode: .auto, ringEntries: TrackingPlan.defaultRingEntries, caps: caps, migration: false)
        return try TrackingSession(system: system, config: config, plan: plan, tile: TileSize(width: 64, height: 16), migration: false, events: events)
    }

    /// Per update written after `from`: its doorbell (the newest whose sync had published its
    /// damage before the surface read the display for it) to the end of its write, in
    /// microseconds: p50, p99, count.
    private static func latencies(_ logged: (syncs: [(doorbell: UInt64, end: UInt64)], writes: [(read: UInt64, written: UInt64)]),
                                  from measureFrom: UInt64) -> (p50: Double, p99: Double, count: Int) {
        let syncs = logged.syncs
        var micros: [Double] = []
        var i = 0
        for w in logged.writes.sorted(by: { $0.read < $1.read }) where w.read >= measureFrom {
            while i + 1 < syncs.count && syncs[i + 1].end <= w.read { i += 1 }
            guard i < syncs.count, syncs[i].end <= w.read, syncs[i].doorbell > 0 else { continue }
            micros.append(Double(w.written - syncs[i].doorbell) / 1000)
        }
        micros.sort()
        guard !micros.isEmpty else { return (0, 0, 0) }
        return (micros[micros.count / 2], micros[min(micros.count - 1, Int(Double(micros.count) * 0.99))], micros.count)
    }

    /// A minimal RFB 3.8 client: security None, 32 bpp native format, `encoding` (Raw or
    /// ZRLE), one incremental whole-screen request after each update it has read, or with
    /// `continuous`, EnableContinuousUpdates for the whole screen after its first update and
    /// no request after that.
    static func readUpdates(port: Int, encoding: Int32, continuous: Bool, until stop: () -> Bool) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr)
        let r = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard r == 0 else { return }
        var tv = timeval(tv_sec: 1, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        func read(_ n: Int) -> [UInt8]? {
            var out = [UInt8](repeating: 0, count: n)
            var got = 0
            while got < n {
                if stop() { return nil }
                let k = out[got...].withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if k == 0 { return nil }
                if k < 0 { if errno == EAGAIN || errno == EINTR { continue }; return nil }
                got += k
            }
            return out
        }
        func send(_ b: [UInt8]) { _ = b.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } }
        func be(_ b: [UInt8], _ i: Int, _ n: Int) -> Int { (0..<n).reduce(0) { $0 << 8 | Int(b[i + $1]) } }
        guard read(12) != nil else { return }
        send(Array("RFB 003.008\n".utf8))
        guard let c = read(1), read(Int(c[0])) != nil else { return }
        send([1])
        guard read(4) != nil else { return }
        send([1])
        guard let head = read(24), read(be(head, 20, 4)) != nil else { return }
        let w = be(head, 0, 2), h = be(head, 2, 2)
        let e = UInt32(bitPattern: encoding), cu = UInt32(bitPattern: EncodingType.continuousUpdates)
        var list = [UInt8(e >> 24), UInt8(e >> 16 & 0xFF), UInt8(e >> 8 & 0xFF), UInt8(e & 0xFF)]
        if continuous { list += [UInt8(cu >> 24), UInt8(cu >> 16 & 0xFF), UInt8(cu >> 8 & 0xFF), UInt8(cu & 0xFF)] }
        send([2, 0, 0, UInt8(list.count / 4)] + list)
        func request(_ incremental: Bool) { send([3, incremental ? 1 : 0, 0, 0, 0, 0, UInt8(w >> 8), UInt8(w & 0xFF), UInt8(h >> 8), UInt8(h & 0xFF)]) }
        request(false)
        var enabled = false
        while !stop() {
            guard let t = read(1) else { return }
            if t[0] == 150 { continue } // EndOfContinuousUpdates: the server understands them
            guard t[0] == 0, let rest = read(3) else { return }
            let u = t + rest
            for _ in 0..<be(u, 2, 2) {
                guard let rh = read(12) else { return }
                let rw = be(rh, 4, 2), rhh = be(rh, 6, 2), enc = be(rh, 8, 4)
                if enc == 0 { guard read(rw * rhh * 4) != nil else { return } }
                else if enc == 16 { guard let l = read(4), read(be(l, 0, 4)) != nil else { return } }
                else if enc == 0xFFFF_FF21 { continue }
                else { return }
            }
            if !continuous {
                request(true)
            } else if !enabled {
                enabled = true
                send([150, 1, 0, 0, 0, 0, UInt8(w >> 8), UInt8(w & 0xFF), UInt8(h >> 8), UInt8(h & 0xFF)])
            }
        }
    }
}
