import Dispatch
import Display
import Foundation
import KVM
import Machine
import RFB
import Tracking
import VNCTracking

/// `ringside bench --vnc`: what a VNC server built on the tracking session sends per guest
/// frame, beside two baselines fed the same frames in the same process.
///
/// The guest runs in lockstep: after each frame the session syncs once (the harvest), each
/// server's `ServerSurface` refreshes once (it copies the repainted tiles under the session's
/// lock and compares them with its previous frame, no lock held), and every simulated client
/// then takes its dirty bits and encodes its update from the shared surface as a server
/// answering an incremental request right away would (no sockets: bytes are counted as
/// encoded). The parts are timed apart.
/// - `ringside`: only the tiles the dirty log (or auto's unlogged repaint) marked are compared.
/// - `compare`: QEMU's way without a dirty log: every tile of the whole frame is compared
///   (once per frame on the surface, as QEMU's server surface does).
/// - `full`: kvmtool's way: every update is the whole screen.
/// `changedBytes` is the raw size (4 bytes a pixel) of the pixels that really differ from
/// the previous frame, counted pixel by pixel outside the timed part.
public enum VNCBench {
    public enum Server: String, CaseIterable, Sendable { case ringside, compare, full }
    public static let encodings: [(name: String, type: Int32)] = [("Raw", EncodingType.raw), ("ZRLE", EncodingType.zrle), ("Tight", EncodingType.tight),
                                                                    ("Tight-JPEG", EncodingType.tight)]

    /// One (server, encoding) over the measured frames, all its clients together.
    public struct Line: Sendable {
        public var server: Server
        public var encoding: String
        public var frames = 0
        public var updates = 0
        public var bytes = 0
        /// The server surface's refreshes (once a frame, for all the line's clients): the part
        /// under the session's lock (copying the repainted tiles) and the rest (comparing).
        public var lockNanos: UInt64 = 0
        public var surfaceCompareNanos: UInt64 = 0
        /// The clients' takes of their dirty bits (the surface's lock) and their encodes.
        public var takeNanos: UInt64 = 0
        public var encodeNanos: UInt64 = 0
        public var lockMicrosPerFrame: Double { perFrame(lockNanos) }
        /// Finding what changed: the surface's compare and the clients' takes.
        public var findMicrosPerFrame: Double { perFrame(surfaceCompareNanos + takeNanos) }
        public var encodeMicrosPerFrame: Double { perFrame(encodeNanos) }
        public var bytesPerFrame: Double { frames == 0 ? 0 : Double(bytes) / Double(frames) }
        public var microsPerFrame: Double { perFrame(lockNanos + surfaceCompareNanos + takeNanos + encodeNanos) }
        private func perFrame(_ n: UInt64) -> Double { frames == 0 ? 0 : Double(n) / 1000 / Double(frames) }
    }

    public struct Result: Sendable {
        public var guest: String
        public var width: Int, height: Int
        public var frames = 0
        public var changedBytes = 0
        /// Frames in which any pixel changed.
        public var changedFrames = 0
        public var harvestNanos: [UInt64] = []
        /// Pixel bytes the server surfaces copied under the lock while measuring.
        public var snapshotBytes = 0
        /// Times a surface read the display while measuring (at most one a frame per server).
        public var snapshotRefreshes = 0
        /// Whether the cell stopped at its time budget before `frames` frames.
        public var budgetReached = false
        public var lines: [Line] = []
        public var changedBytesPerFrame: Double { frames == 0 ? 0 : Double(changedBytes) / Double(frames) }
    }

    /// One server: its surface over the session, and its clients.
    final class Surface {
        let server: Server
        let surface: ServerSurface
        var clients: [Client] = []
        init(server: Server, source: TrackingFramebufferSource) {
            self.server = server
            surface = ServerSurface(source: source, name: "vnc bench \(server)", compareEverything: server == .compare)
        }
    }

    final class Client {
        let encoding: (name: String, type: Int32)
        let handle: ServerSurface.Client
        let encoder = UpdateEncoder()
        var line: Line
        init(server: Server, encoding: (name: String, type: Int32), handle: ServerSurface.Client) {
            self.encoding = encoding
            self.handle = handle
            line = Line(server: server, encoding: encoding.name)
            var list = [encoding.type]
            // Tight-JPEG: quality level 5 (JPEG quality 77, 4:2:2); Tight with LastRect as TigerVNC asks.
            if encoding.type == EncodingType.tight { list.append(EncodingType.lastRect) }
            if encoding.name == "Tight-JPEG" { list.append(EncodingType.qualityLevel0 + 5) }
            encoder.choice = EncodingChoice(clientList: list)
        }
    }

    // @unchecked: the vCPU thread's lockstep callback uses it one frame at a time; `measure` only before `start()` and after `wait()`.
    final class Run: @unchecked Sendable {
        var session: TrackingSession!
        var surfaces: [Surface] = []
        var warmup: Int
        let frames: Int
        var result: Result
        var previous: [UInt8] = []
        var failure: String?
        let done = DispatchSemaphore(value: 0)
        var finished = false
        let budgetNanos: UInt64
        var measureStart: UInt64 = 0
        init(frames: Int, warmup: Int, budgetSeconds: Double?, result: Result) {
            self.frames = frames
            self.warmup = warmup
            self.result = result
            budgetNanos = budgetSeconds.map { UInt64($0 * 1e9) } ?? .max
        }
    }

    /// One guest at one size: `frames` lockstep frames after `warmup`, with `clients` clients
    /// per (server, encoding) in `servers` x `encodingNames`. Clients are served only from the
    /// last two warm-up frames on (their first, whole-screen update), so warm-up costs little. With
    /// `budgetSeconds`, measuring stops after that long once 3 frames are in (`budgetReached`).
    public static func measure(system: KVMSystem, config base: MachineConfig, mode: TrackingMode, caps: HostCapabilities,
                               label: String, frames: Int, warmup: Int, servers: [Server] = Server.allCases,
                               encodingNames: [String]? = nil, clients count: Int = 1, budgetSeconds: Double? = nil) throws -> Result {
        var config = base
        config.lockstep = true
        config.guestHz = 0
        config.frameLimit = nil
        let run = Run(frames: frames, warmup: warmup, budgetSeconds: budgetSeconds, result: Result(guest: label, width: config.width, height: config.height))
        var events = MachineEvents()
        events.allFramesDone = { [run] _ in frameDone(run) }
        let plan = try TrackingPlan.make(mode: mode, ringEntries: TrackingPlan.defaultRingEntries, caps: caps, migration: false)
        run.session = try TrackingSession(system: system, config: config, plan: plan, tile: TileSize(width: 64, height: 16),
                                          migration: false, events: events)
        let chosen = encodings.filter { encodingNames?.contains($0.name) ?? true }
        let source = TrackingFramebufferSource(session: run.session, name: label)
        let told = source.geometry
        for s in servers {
            let surface = Surface(server: s, source: source)
            for e in chosen { for _ in 0..<count {
                surface.clients.append(Client(server: s, encoding: e, handle: surface.surface.join(told: told)))
            } }
            run.surfaces.append(surface)
        }
        run.session.machine.start()
        var guestStopped = false
        while run.done.wait(timeout: .now() + .milliseconds(100)) == .timedOut {
            if run.session.machine.isFinished { guestStopped = true; break }
        }
        run.session.machine.stop()
        run.session.machine.wait()
        if guestStopped, run.failure == nil { run.failure = "the guest stopped" } // its callbacks are over now
        if let f = run.failure { throw BenchFailure(message: "\(label): \(f)") }
        var r = run.result
        // Lines of several clients of one kind are summed into one line, frames and the
        // surface's refreshes (shared by all of them) counted once.
        var merged: [String: Line] = [:]
        var order: [String] = []
        for c in run.surfaces.flatMap(\.clients) {
            let key = "\(c.line.server) \(c.encoding.name)"
            if var m = merged[key] {
                m.updates += c.line.updates
                m.bytes += c.line.bytes
                m.takeNanos += c.line.takeNanos
                m.encodeNanos += c.line.encodeNanos
                merged[key] = m
            } else {
                merged[key] = c.line
                order.append(key)
            }
        }
        r.lines = order.map { merged[$0]! }
        return r
    }

    public struct BenchFailure: Error, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }

    private static func frameDone(_ run: Run) {
        if run.finished || run.failure != nil { return }
        let session = run.session!
        let t0 = DispatchTime.now().uptimeNanoseconds
        do { try session.sync() } catch {
            run.failure = "\(error)"
            run.finished = true
            run.done.signal()
            return
        }
        let harvest = DispatchTime.now().uptimeNanoseconds - t0
        let measuring = run.warmup == 0
        if measuring {
            if run.result.frames == 0 { run.measureStart = t0 }
            run.result.frames += 1
            run.result.harvestNanos.append(harvest)
            let n = changedPixels(run)
            run.result.changedBytes += n * 4
            if n > 0 { run.result.changedFrames += 1 }
        } else {
            _ = changedPixels(run)
        }
        // From the last two warm-up frames on: a server surface allocates its second frame at
        // its second refresh, a one-time cost the measured frames should not carry.
        if run.warmup <= 2 {
            for s in run.surfaces { serve(s, run: run, measuring: measuring) }
        }
        if run.warmup > 0 { run.warmup -= 1 }
        let overBudget = measuring && run.result.frames >= 3 && DispatchTime.now().uptimeNanoseconds - run.measureStart > run.budgetNanos
        if run.result.frames >= run.frames || overBudget {
            run.result.budgetReached = run.result.frames < run.frames
            run.finished = true
            run.done.signal()
        }
    }

    /// Pixels of the shadow (which equals the framebuffer after a lockstep sync) that differ
    /// from the previous frame; keeps a copy for the next.
    private static func changedPixels(_ run: Run) -> Int {
        run.session.withDisplay { d in
            d.shadow.withUnsafeBytes { now in
                let g = d.shadow.geometry
                if run.previous.count != now.count {
                    run.previous = [UInt8](now)
                    return g.width * g.height
                }
                var n = 0
                run.previous.withUnsafeMutableBytes { prev in
                    for y in 0..<g.height {
                        let off = y * g.pitch
                        // SAFETY: both buffers hold the same geometry; the row is inside each.
                        if memcmp(now.baseAddress! + off, prev.baseAddress! + off, g.width * 4) == 0 { continue }
                        for x in 0..<g.width where now.load(fromByteOffset: off + x * 4, as: UInt32.self) & 0xFF_FFFF
                            != prev.load(fromByteOffset: off + x * 4, as: UInt32.self) & 0xFF_FFFF { n += 1 }
                        prev.baseAddress!.advanced(by: off).copyMemory(from: now.baseAddress! + off, byteCount: g.width * 4)
                    }
                }
                return n
            }
        }
    }

    /// One server after a frame: its surface refreshes once, then each client answers an
    /// incremental request for the whole screen: it takes its dirty bits and the surface's
    /// frame (the surface's lock) and encodes from the frame, no lock held. No clocks for
    /// the lossless refresh: the benchmark counts the changed areas' bytes only.
    private static func serve(_ s: Surface, run: Run, measuring: Bool) {
        let before = s.surface.statistics
        s.surface.refresh()
        let after = s.surface.statistics
        let lock = after.nanosUnderLock - before.nanosUnderLock, compare = after.nanosOutsideLock - before.nanosOutsideLock
        if measuring {
            run.result.snapshotBytes += after.bytesCopiedUnderLock - before.bytesCopiedUnderLock
            run.result.snapshotRefreshes += after.refreshes - before.refreshes
        }
        for c in s.clients {
            let t0 = DispatchTime.now().uptimeNanoseconds
            guard let geometry = s.surface.latest?.geometry else { return }
            let screen = RFBRect(x: 0, y: 0, width: geometry.width, height: geometry.height)
            let take = s.surface.take(c.handle, region: screen, full: s.server == .full, rowSpans: c.encoder.rowSpans)
            let t1 = DispatchTime.now().uptimeNanoseconds
            var bytes = 0
            if let take, !take.rects.isEmpty {
                bytes = c.encoder.encodeWhole(take, incremental: true, now: 0).readableBytes
            }
            let t2 = DispatchTime.now().uptimeNanoseconds
            guard measuring else { continue }
            c.line.frames += 1
            c.line.lockNanos += lock
            c.line.surfaceCompareNanos += compare
            c.line.takeNanos += t1 - t0
            c.line.encodeNanos += t2 - t1
            if bytes > 0 {
                c.line.updates += 1
                c.line.bytes += bytes
            }
        }
    }
}
