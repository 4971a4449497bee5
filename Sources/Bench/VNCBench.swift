import Dispatch
import Display
import Foundation
import KVM
import Machine
import RFB
import Tracking

/// `ringside bench --vnc`: what a VNC server built on the tracking session sends per guest
/// frame, beside two baselines fed the same frames in the same process.
///
/// The guest runs in lockstep: after each frame the session syncs once (the harvest) and
/// every simulated client then finds its update and encodes it as a server answering an
/// incremental request right away would (no sockets: bytes are counted as encoded). As the
/// server does, a client reads its damage and the shared snapshot of the frame under the
/// session's lock (`FrameSnapshotter`: the first read after a sync copies the repainted
/// tiles), then compares with what it was sent and encodes with no lock held; the three
/// parts are timed apart.
/// - `ringside`: the client's own display sink: only tiles the dirty log (or auto's
///   unlogged repaint) marked are compared with what that client was last sent.
/// - `compare`: QEMU's way without a dirty log: every tile of the whole frame is compared
///   (16-pixel-wide memcmp spans, as `ClientFramebuffer` does) with what was last sent.
/// - `full`: kvmtool's way: every update is the whole screen.
/// `changedBytes` is the raw size (4 bytes a pixel) of the pixels that really differ from
/// the previous frame, counted pixel by pixel outside the timed part.
public enum VNCBench {
    public enum Server: String, CaseIterable, Sendable { case ringside, compare, full }
    public static let encodings: [(name: String, type: Int32)] = [("Raw", EncodingType.raw), ("ZRLE", EncodingType.zrle), ("Tight", EncodingType.tight),
                                                                    ("Tight-JPEG", EncodingType.tight)]

    public struct Line: Sendable {
        public var server: Server
        public var encoding: String
        public var frames = 0
        public var updates = 0
        public var bytes = 0
        public var nanos: [UInt64] = []
        /// The part of `nanos` spent under the session's read (the lock): the damage and the snapshot.
        public var lockNanos: UInt64 = 0
        /// The part spent comparing the snapshot with what the client was sent (no lock).
        public var findNanos: UInt64 = 0
        public var lockMicrosPerFrame: Double { frames == 0 ? 0 : Double(lockNanos) / 1000 / Double(frames) }
        public var findMicrosPerFrame: Double { frames == 0 ? 0 : Double(findNanos) / 1000 / Double(frames) }
        /// What is left of `nanos`: encoding.
        public var encodeMicrosPerFrame: Double { microsPerFrame - lockMicrosPerFrame - findMicrosPerFrame }
        public var bytesPerFrame: Double { frames == 0 ? 0 : Double(bytes) / Double(frames) }
        public var microsPerFrame: Double { frames == 0 ? 0 : Double(nanos.reduce(0, +)) / 1000 / Double(frames) }
    }

    public struct Result: Sendable {
        public var guest: String
        public var width: Int, height: Int
        public var frames = 0
        public var changedBytes = 0
        /// Frames in which any pixel changed.
        public var changedFrames = 0
        public var harvestNanos: [UInt64] = []
        /// Pixel bytes the shared snapshot copied under the lock while measuring.
        public var snapshotBytes = 0
        /// Times the shared snapshot was brought up to date while measuring (at most one a frame).
        public var snapshotRefreshes = 0
        /// Whether the cell stopped at its time budget before `frames` frames.
        public var budgetReached = false
        public var lines: [Line] = []
        public var changedBytesPerFrame: Double { frames == 0 ? 0 : Double(changedBytes) / Double(frames) }
    }

    final class Client {
        let server: Server
        let encoding: (name: String, type: Int32)
        let sink: DisplaySink
        var fb: ClientFramebuffer?
        let zrle = ZRLEEncoder(), tight = TightEncoder()
        var line: Line
        init(server: Server, encoding: (name: String, type: Int32), sink: DisplaySink) {
            self.server = server
            self.encoding = encoding
            self.sink = sink
            line = Line(server: server, encoding: encoding.name)
            if encoding.name == "Tight-JPEG" { tight.jpeg = TightJPEGSettings(level: 5) } // quality level 5: JPEG quality 77, 4:2:2
        }
    }

    // @unchecked: the vCPU thread's lockstep callback uses it one frame at a time; `measure` only before `start()` and after `wait()`.
    final class Run: @unchecked Sendable {
        var session: TrackingSession!
        var clients: [Client] = []
        var warmup: Int
        let frames: Int
        var result: Result
        var previous: [UInt8] = []
        var failure: String?
        let done = DispatchSemaphore(value: 0)
        var finished = false
        let snapshots = FrameSnapshotter()
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
    /// last warm-up frame on (their first, whole-screen update), so warm-up costs little. With
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
        for s in servers { for e in chosen { for i in 0..<count {
            run.clients.append(Client(server: s, encoding: e, sink: run.session.makeDisplaySink(name: "vnc bench \(s) \(e.name) \(i)")))
        } } }
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
        // Lines of several clients of one kind are summed into one line, frames counted once.
        var merged: [String: Line] = [:]
        var order: [String] = []
        for c in run.clients {
            let key = "\(c.server) \(c.encoding.name)"
            if var m = merged[key] {
                m.updates += c.line.updates
                m.bytes += c.line.bytes
                m.findNanos += c.line.findNanos
                m.lockNanos += c.line.lockNanos
                for i in 0..<min(m.nanos.count, c.line.nanos.count) { m.nanos[i] += c.line.nanos[i] }
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
        let copiedBefore = run.snapshots.copiedBytes, refreshesBefore = run.snapshots.refreshes
        if run.warmup <= 1 {
            for c in run.clients { serve(c, run: run, measuring: measuring) }
        }
        if measuring {
            run.result.snapshotBytes += run.snapshots.copiedBytes - copiedBefore
            run.result.snapshotRefreshes += run.snapshots.refreshes - refreshesBefore
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

    /// One client answers an incremental request for the whole screen: its damage and the
    /// shared snapshot under the session's read (as the server's reader does), then the
    /// compare with what it was sent and the encode (from the client's own copy), no lock held.
    private static func serve(_ c: Client, run: Run, measuring: Bool) {
        let t0 = DispatchTime.now().uptimeNanoseconds
        let (snapshot, dirty) = run.session.read(c.sink) { d, dirty in (run.snapshots.snapshot(of: d.shadow, grid: d.grid, damage: d.damage), dirty) }
        let locked = DispatchTime.now().uptimeNanoseconds
        let rects: [RFBRect] = snapshot.withFrame { frame in
            if c.fb == nil { c.fb = ClientFramebuffer(geometry: frame.geometry, tiles: frame.grid.count) }
            c.fb!.rowSpans = c.encoding.type == EncodingType.raw
            let screen = RFBRect(x: 0, y: 0, width: frame.width, height: frame.height)
            switch c.server {
            case .ringside: return c.fb!.collect(frame: frame, dirty: dirty, region: screen, full: false)
            case .compare:
                var all = DirtyTileBitmap(count: frame.grid.count)
                all.setAll()
                return c.fb!.collect(frame: frame, dirty: all, region: screen, full: false)
            case .full: return c.fb!.collect(frame: frame, dirty: dirty, region: screen, full: true)
            }
        }
        let found = DispatchTime.now().uptimeNanoseconds
        var bytes = 0
        if !rects.isEmpty, let fb = c.fb {
            var w = UpdateWriter(lastRect: c.encoding.type == EncodingType.tight)
            let translator = PixelTranslator(format: .guestNative)
            fb.withSent(grid: snapshot.grid) { frame in
                let list = rects.count > 60000 ? [bounds(rects)] : rects
                switch c.encoding.type {
                case EncodingType.zrle:
                    for r in list {
                        w.header(r, encoding: EncodingType.zrle)
                        w.withBytes { c.zrle.encode(r, of: frame, translator: translator, into: &$0) }
                    }
                case EncodingType.tight:
                    for r in list { for piece in TightEncoder.split(r) {
                        w.header(piece, encoding: EncodingType.tight)
                        w.withBytes { c.tight.encode(piece, of: frame, translator: translator, into: &$0) }
                    } }
                default:
                    for r in list {
                        w.header(r, encoding: EncodingType.raw)
                        w.withBytes { translator.appendRect(r, of: frame, to: &$0) }
                    }
                }
            }
            bytes = w.finish().count
        }
        let ns = DispatchTime.now().uptimeNanoseconds - t0
        guard measuring else { return }
        c.line.frames += 1
        c.line.nanos.append(ns)
        c.line.lockNanos += locked - t0
        c.line.findNanos += found - locked
        if bytes > 0 {
            c.line.updates += 1
            c.line.bytes += bytes
        }
    }

    private static func bounds(_ rects: [RFBRect]) -> RFBRect {
        let x0 = rects.map(\.x).min()!, y0 = rects.map(\.y).min()!
        return RFBRect(x: x0, y: y0, width: rects.map(\.maxX).max()! - x0, height: rects.map(\.maxY).max()! - y0)
    }
}
