#if canImport(Glibc)
import Glibc
#endif
import Foundation
import QEMUPeer
import Synchronization

/// One guest, as both VMMs are asked to run it.
public struct PeerGuest: Sendable {
    public var label: String        // "bounce16"
    public var imagePath: String
    public var imageName: String    // "bounce"
    /// The guest ABI version the image declares (1 without the note); both VMMs boot it so.
    public var abiVersion: UInt32 = 1
    /// Boot modules (DOOM's WAD), given to both VMMs in this order.
    public var modules: [QEMUMachine.Module] = []
    public var arguments: String
    public var width: Int
    public var height: Int
    public var guestHz: Double
    public var ramBytes: UInt64 = 256 << 20
    /// Frames the guest runs before any cell measures it (DOOM's title screen).
    public var leadInFrames = 0

    public init(label: String, imagePath: String, imageName: String, arguments: String, width: Int, height: Int, guestHz: Double) {
        self.label = label
        self.imagePath = imagePath
        self.imageName = imageName
        self.arguments = arguments
        self.width = width
        self.height = height
        self.guestHz = guestHz
    }

    /// `ringside run` options that boot this guest (after `run`).
    var ringsideArguments: [String] {
        ["--guest", imagePath, "--args", arguments, "--width", "\(width)", "--height", "\(height)",
         "--guest-hz", "\(guestHz)", "--memory", "\(ramBytes >> 20)M"]
            + modules.flatMap { ["--module", "\($0.path)=\($0.name)"] }
    }

    /// The same guest for QEMU behind the boot stub.
    var qemuMachine: QEMUMachine {
        var m = QEMUMachine(imagePath: imagePath, imageName: imageName, abiVersion: abiVersion)
        m.modules = modules
        m.arguments = arguments
        m.width = width
        m.height = height
        m.guestHz = guestHz
        m.ramBytes = ramBytes
        return m
    }
}

/// A VMM process running a guest for the benchmark: Ringside (`ringside run --headless`,
/// a separate process, as a user runs it) or QEMU (behind the boot stub).
protocol BenchVMM: AnyObject {
    var vmm: String { get }
    var pid: Int32 { get }
    /// Where its VNC server listens (nil without one).
    var vncPort: Int? { get }
    /// The guest's RAM in the process (the counters page).
    var ram: GuestRAMView { get }
    var process: VMMProcess { get }
    func stop()
}

extension BenchVMM {
    var cpuSeconds: Double? { process.cpuSeconds }
    var peakRSS: UInt64? { process.peakRSS }
    var rss: UInt64? { process.rss }
}

/// Waits for the guest's RAM to show up in `process` (the VMM has booted it).
func findRAM(_ process: VMMProcess, what: String, seconds: Double = 60) throws -> GuestRAMView {
    let deadline = Date(timeIntervalSinceNow: seconds)
    while true {
        if let ram = GuestRAMView.find(pid: process.pid), (ram.frames ?? 0) > 0 { return ram }
        if let status = process.exitStatus { throw PeerBenchError("\(what) exited with status \(status)" + (process.lastErrorLines.last.map { ": \($0)" } ?? "")) }
        guard Date() < deadline else { throw PeerBenchError("\(what) did not start its guest within \(Int(seconds)) s") }
        usleep(10_000)
    }
}

/// Waits until the guest has made `frames` frames (its lead-in), with a deadline of a minute
/// plus twice the lead-in at 18 Hz, QEMU's slowest pacing.
func waitForLeadIn(_ vm: BenchVMM, frames: Int, abandon: () -> Bool) throws {
    guard frames > 0 else { return }
    let deadline = Date(timeIntervalSinceNow: 60 + 2 * Double(frames) / 18)
    while (vm.ram.frames ?? 0) < UInt64(frames) {
        if abandon() { throw PeerBenchError("interrupted") }
        if vm.process.exitStatus != nil { throw ended(vm) }
        guard Date() < deadline else { throw PeerBenchError("\(vm.vmm)'s guest made \(vm.ram.frames ?? 0) of its \(frames) lead-in frames in time") }
        usleep(10_000)
    }
}

public struct PeerBenchError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// `ringside run --headless` in a process of its own.
final class RingsideVMM: BenchVMM {
    let vmm = "ringside"
    let process: VMMProcess
    let ram: GuestRAMView
    let vncPort: Int?
    var pid: Int32 { process.pid }

    /// `extra` are more `ringside run` options (e.g. --migrate-to).
    init(executable: String, guest: PeerGuest, vnc: Bool, extra: [String] = [], command: [String]? = nil,
         output: @escaping @Sendable (String) -> Void = { _ in }) throws {
        var argv = [executable] + (command ?? ["run", "--headless"])
        if command == nil { argv += guest.ringsideArguments }
        if vnc { argv += ["--vnc", "127.0.0.1:0"] }
        argv += extra
        let port = PortLine()
        process = try VMMProcess(argv, stdout: { line in
            if line.hasPrefix("VNC server on "), let p = line.split(separator: ":").last.flatMap({ Int($0) }) { port.set(p) }
            output(line)
        }, stderr: output)
        do {
            ram = try findRAM(process, what: "ringside run")
            if vnc {
                let deadline = Date(timeIntervalSinceNow: 30)
                while port.value == nil && Date() < deadline && process.exitStatus == nil { usleep(10_000) }
                guard let p = port.value else { throw PeerBenchError("ringside run did not say where its VNC server listens") }
                vncPort = p
            } else {
                vncPort = nil
            }
        } catch {
            process.terminate()
            throw error
        }
    }

    func stop() { process.terminate(grace: 20) }
}

/// QEMU behind the boot stub (QEMUPeer).
final class QEMUVMM: BenchVMM {
    let vmm = "qemu"
    let instance: QEMUInstance
    let ram: GuestRAMView
    let vncPort: Int?
    var pid: Int32 { instance.process.pid }
    var process: VMMProcess { instance.process }

    init(installation: QEMUInstallation, guest: PeerGuest, vnc: Bool, lossy: Bool = false, tracking: QEMUMachine.DirtyTracking = .ring(entries: 4096),
         frames: Int? = nil) throws {
        var m = guest.qemuMachine
        m.tracking = tracking
        if vnc { m.vnc = .init(host: "127.0.0.1", port: 0, lossy: lossy) }
        m.frames = frames
        instance = try QEMUInstance(m, installation: installation)
        do {
            try instance.waitForGuest()
            ram = try findRAM(instance.process, what: "QEMU")
            vncPort = vnc ? try instance.vncPort() : nil
        } catch {
            instance.quit()
            throw error
        }
    }

    func stop() { instance.quit() }
}

/// The port a `ringside run` said its VNC server listens on, from its output thread.
final class PortLine: Sendable {
    private let port = Mutex<Int?>(nil)
    func set(_ p: Int) { port.withLock { $0 = p } }
    var value: Int? { port.withLock { $0 } }
}
