#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Display
import Foundation
import KVM
import Machine
import RFB
import Synchronization
import Tracking
import VNCTracking

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

    /// Percentiles in microseconds over the updates measured: the whole (doorbell to last
    /// byte) and the p99 of its three parts: doorbell to the sync's publishing its damage (the
    /// syncer's wake-up, harvest and copy), that to the surface's read (the hop to the refresh
    /// and the refresh's copy under the display's lock), and the read to the last byte (the
    /// client's wake, encoding and write).
    struct Result {
        var p50 = 0.0, p99 = 0.0, count = 0
        var toSync99 = 0.0, toRead99 = 0.0, fromRead99 = 0.0
    }

    static func measure(system: KVMSystem, caps: HostCapabilities, config base: MachineConfig, encoding: Int32, clients: Int,
                        continuous: Bool, seconds: Double, refreshOnClientLoop: Bool = true) throws -> Result {
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
        o.refreshOnClientLoop = refreshOnClientLoop
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
                                  from measureFrom: UInt64) -> Result {
        let syncs = logged.syncs
        var micros: [Double] = [], toSync: [Double] = [], toRead: [Double] = [], fromRead: [Double] = []
        var i = 0
        for w in logged.writes.sorted(by: { $0.read < $1.read }) where w.read >= measureFrom {
            while i + 1 < syncs.count && syncs[i + 1].end <= w.read { i += 1 }
            guard i < syncs.count, syncs[i].end <= w.read, syncs[i].doorbell > 0 else { continue }
            micros.append(Double(w.written - syncs[i].doorbell) / 1000)
            toSync.append(Double(syncs[i].end - syncs[i].doorbell) / 1000)
            toRead.append(Double(w.read - syncs[i].end) / 1000)
            fromRead.append(Double(w.written - w.read) / 1000)
        }
        guard !micros.isEmpty else { return Result() }
        func pct(_ a: [Double], _ q: Double) -> Double { let s = a.sorted(); return s[min(s.count - 1, Int(Double(s.count) * q))] }
        return Result(p50: pct(micros, 0.5), p99: pct(micros, 0.99), count: micros.count,
                      toSync99: pct(toSync, 0.99), toRead99: pct(toRead, 0.99), fromRead99: pct(fromRead, 0.99))
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
        let list = continuous ? [encoding, EncodingType.continuousUpdates] : [encoding]
        send([2, 0, 0, UInt8(list.count)] + list.flatMap { e in (0..<4).map { UInt8(UInt32(bitPattern: e) >> (24 - 8 * $0) & 0xFF) } })
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
