import Foundation
import Input
import KVM
import Machine
import Synchronization
import XCTest

/// A guest run to its last frame on real KVM (`runGuest`): the picture in the mode in force
/// at the end, the machine (for its input queue and counters) and the console lines.
public struct GuestRun {
    /// Visible pixels as 0x00RRGGBB, row by row.
    public let pixels: [UInt32]
    public let mode: DisplayMode
    /// Mode sets since boot.
    public let serial: Int
    public let machine: Machine
    public let console: [String]
    public var width: Int { mode.width }
    public var height: Int { mode.height }

    public func at(_ x: Int, _ y: Int) -> UInt32 { pixels[y * mode.width + x] }

    /// The w x h pixels with top-left (x, y), row by row.
    public func cell(_ x: Int, _ y: Int, _ w: Int = 8, _ h: Int = 16) -> [UInt32] {
        var out: [UInt32] = []
        for yy in y..<(y + h) { for xx in x..<(x + w) { out.append(at(xx, yy)) } }
        return out
    }

    /// The longest run of `colour` in any row: (x, y, length). A title bar's top row is one
    /// uniform colour across the window's width.
    public func longestRun(of colour: UInt32) -> (x: Int, y: Int, length: Int) {
        var best = (x: 0, y: 0, length: 0)
        for y in 0..<height {
            var x = 0
            while x < width {
                guard at(x, y) == colour else { x += 1; continue }
                let start = x
                while x < width && at(x, y) == colour { x += 1 }
                if x - start > best.length { best = (start, y, x - start) }
            }
        }
        return best
    }
}

/// Runs `guest` to `frames` frames on real KVM, pushing `events[f]` at vCPU 0's doorbell of
/// frame f - 1 (`events[1]` before the start), so every vCPU applies them at the start of
/// frame f (assets/guests/README.md, "Input"). `prepare` sees the machine before it starts.
/// Several vCPUs run in lockstep unless `lockstep` is false: then a vCPU may still be drawing
/// frame f - 1 when vCPU 0 starts frame f. `maxMode` lets the guest set modes up to that size.
/// Skips without /dev/kvm or with fewer usable vCPUs than `cpus`.
public func runGuest(_ guest: String, args: String = "", width: Int = 320, height: Int = 200, cpus: Int = 1, lockstep: Bool = true,
                     maxMode: (width: Int, height: Int)? = nil, ramMiB: UInt64 = 16, frames: Int, events: [Int: [InputEvent]] = [:],
                     timeout: Double = 120, prepare: (Machine) -> Void = { _ in }) throws -> GuestRun {
    let system = try requireKVM()
    if cpus > 1, try HostCapabilities(system: system).usableVCPUs < cpus { throw XCTSkip("host allows fewer than \(cpus) vCPUs") }
    var config = try testConfig(guest, args: args, width: width, height: height, cpus: cpus, ramMiB: ramMiB, frames: frames)
    config.lockstep = cpus > 1 && lockstep
    config.maxMode = maxMode
    let feeder = Feeder()
    var callbacks = MachineEvents()
    callbacks.frameDone = { cpu, frame in
        guard cpu == 0, let list = events[frame + 1] else { return }
        for e in list { feeder.machine?.input.push(e) }
    }
    callbacks.consoleLine = { _, line in feeder.append(line) }
    let m = try Machine(system: system, config: config, events: callbacks)
    feeder.machine = m
    prepare(m)
    for e in events[1] ?? [] { m.input.push(e) }
    m.start()
    guard let outcome = m.wait(seconds: timeout) else {
        m.stopAndWait()
        throw GuestDidNotFinish(guest: guest, seconds: timeout, outcome: nil)
    }
    guard case .framesCompleted = outcome else { throw GuestDidNotFinish(guest: guest, seconds: timeout, outcome: outcome) }
    let state = m.displayMode
    let mode = state.mode
    let fb = UnsafeRawPointer(m.framebuffer.base)
    var out: [UInt32] = []
    out.reserveCapacity(mode.width * mode.height)
    for y in 0..<mode.height { for x in 0..<mode.width { out.append(pixel(fb, pitch: mode.pitch, x: x, y: y) & 0xFF_FFFF) } }
    return GuestRun(pixels: out, mode: mode, serial: state.serial, machine: m, console: feeder.lines)
}

/// Equal modes and pictures, or a failure naming how many pixels differ and the first one.
public func assertSamePicture(_ a: GuestRun, _ b: GuestRun, _ message: String, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.mode, b.mode, message, file: file, line: line)
    guard a.mode == b.mode else { return }
    let diff = zip(a.pixels, b.pixels).enumerated().filter { $0.element.0 != $0.element.1 }
    guard let first = diff.first else { return }
    XCTFail("\(message): \(diff.count) pixels differ, first at (\(first.offset % a.width), \(first.offset / a.width))", file: file, line: line)
}

/// A guest that did not reach its last frame in time (`runGuest`).
public struct GuestDidNotFinish: Error, CustomStringConvertible {
    public let guest: String
    public let seconds: Double
    /// How the run ended instead; nil when it was still running at the deadline.
    public let outcome: MachineOutcome?
    public init(guest: String, seconds: Double, outcome: MachineOutcome? = nil) {
        self.guest = guest
        self.seconds = seconds
        self.outcome = outcome
    }
    public var description: String {
        outcome.map { "\(guest) ended before its last frame: \($0)" } ?? "\(guest) did not reach its last frame in \(Int(seconds)) s"
    }
}

/// The machine (set once it exists) and the console lines, shared with the vCPU threads' callbacks.
private final class Feeder: Sendable {
    private let state = Mutex<(machine: Machine?, lines: [String])>((nil, []))
    var machine: Machine? {
        get { state.withLock { $0.machine } }
        set { state.withLock { $0.machine = newValue } }
    }
    var lines: [String] { state.withLock { $0.lines } }
    func append(_ line: String) { state.withLock { $0.lines.append(line) } }
}
