import ArgumentParser
import Foundation
import Machine
import PNGOutput
import QEMUPeer

/// `ringside qemu`: the same guest image under QEMU, behind the boot stub
/// (assets/peers/qemu), with QEMU's own VNC server. Parses, prints and exits; QEMUPeer
/// does the rest.
struct QEMUCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "qemu",
        abstract: "Boot a guest program under QEMU instead (its own VNC server), to compare the two VMMs.",
        discussion: "Runs qemu-system-x86_64 (found on PATH; Debian: qemu-system-x86) with KVM, qboot and Ringside's boot stub, which runs the guest image unmodified: the same arguments, geometry and pacing as ringside run, and with --frames N the same picture at frame N. Stops on Ctrl-C, SIGTERM or SIGHUP, when the guest exits, or after --frames N (with --vnc the picture of frame N is served until stopped). Exit status: 0 when stopped, 1 for bad input or a QEMU failure, 2 when the guest crashed, (v << 1) | 1 when the guest wrote v to its exit port. The image boots as the guest ABI version its ELF note declares (1 without one, or --guest-abi), with its boot modules (--module; a built guest such as doom gets its data files as ringside run gives them). See assets/peers/qemu/README.md for what differs from ringside run (at most two vCPUs; no input; no guest mode sets)."
    )

    /// --guest, --args, --module, --guest-abi: as `ringside run` takes them.
    @OptionGroup var image: GuestOptions
    @Option(parsing: .unconditional, help: "Number of vCPUs, 1 or 2 (the boot stub starts at most two). (default: 1)",
            transform: NumericOptions.int("--cpus", 1...QEMUMachine.maxCPUs))
    var cpus = 1
    /// --width, --height: as `ringside run` takes them.
    @OptionGroup var size: FramebufferSizeOptions
    @Option(name: .customLong("guest-hz"), parsing: .unconditional,
            help: "Guest frame pacing per second by QEMU's PIT: 0 lets the guest free-run, else 18.3...100000. (default: 60)",
            transform: NumericOptions.double("--guest-hz", QEMUMachine.guestHzRange, zeroMeans: "free-run"))
    var guestHz: Double = 60
    @Option(parsing: .unconditional, help: "Stop the guest at its N-th frame (1...1000000000; the picture is then exactly frame N).",
            transform: NumericOptions.int("--frames", NumericOptions.frames))
    var frames: Int?
    @Option(help: "Guest RAM, e.g. 256M or 4G (8M...32G, whole 2M steps).")
    var memory = "256M"
    @Option(name: .customLong("vnc"),
            help: ArgumentHelp("QEMU's VNC server on [ADDR]:PORT (PORT 5900 or more, or 0 for the first free one), or :N for port 5900+N. ADDR defaults to 127.0.0.1.",
                               valueName: "addr:port"))
    var vnc: String?
    @Option(help: "Write QEMU's screen at the end (with --frames N: frame N) as DIR/frame-00000N.png, as ringside run --png does.")
    var png: String?

    func run() throws {
        StopSignals.start() // before QEMU starts, so a signal during start-up is a clean stop too
        runReportingFailures { try execute() }
    }

    /// The machine, and whether its image has no version note (booted as `--guest-abi` or 1).
    func makeMachine() throws -> (QEMUMachine, noteless: Bool) {
        guard let ram = parseMemorySize(memory) else {
            throw Failure("--memory '\(memory)' is not a size: use 8M...32G in whole 2M steps, a number with M or G, e.g. 256M or 4G")
        }
        // The image, its version and its modules exactly as `ringside run` reads and checks them.
        var config = try image.machineConfig(ramBytes: ram)
        config.cpus = cpus
        config.width = size.width
        config.height = size.height
        config.guestHz = guestHz
        config.frameLimit = frames
        try config.validate(maxVCPUs: QEMUMachine.maxCPUs)
        var m = QEMUMachine(config: config)
        if let vnc {
            if vnc.hasPrefix(":"), let n = Int(vnc.dropFirst()) {
                guard (0...(65535 - 5900)).contains(n) else { throw Failure("--vnc '\(vnc)': display :N must be 0...\(65535 - 5900) (port 5900+N)") }
                m.vnc = .init(port: 5900 + n)
            } else {
                let (host, port) = try parseAddress(vnc, option: "--vnc", defaultHost: "127.0.0.1", allowPortZero: true)
                m.vnc = .init(host: host, port: port)
            }
        }
        try m.validate()
        return (m, config.image.declaredABIVersion == nil)
    }

    private func execute() throws -> Int32 {
        let (machine, noteless) = try makeMachine()
        if let png { do { try PNGDumper.prepareDirectory(png) } catch { throw Failure("--png: \(error)") } }
        let installation = try QEMUInstallation.find()
        let stop = StopRequest()
        let registration = StopSignals.onFirstSignal { stop.set() }
        defer { registration.cancel() }
        let qemu = try QEMUInstance(machine, installation: installation, console: { line in
            if !line.hasPrefix("ringside-stub: ") { Console.out("guest: \(line)") }
        }, messages: { Console.error("qemu: \($0)") })
        defer { qemu.quit() }
        try qemu.waitForGuest()
        let vncLine = machine.vnc != nil ? ((try? qemu.vncPort()).map { ", VNC on \(formatAddress(machine.vnc!.host, $0))" } ?? "") : ""
        Console.out("ringside qemu: \(machine.imageName) at \(machine.width)x\(machine.height)\(machine.cpus > 1 ? " on \(machine.cpus) vCPUs" : "") under QEMU \(qemu.version), pid \(qemu.process.pid), "
            + (machine.guestHz > 0 ? String(format: "paced at %.3f Hz", machine.effectiveGuestHz) : "free-running") + vncLine)
        let outcome = qemu.run(until: { stop.isSet })
        switch outcome {
        case .stoppedAtFrame(let n):
            try writePNG(qemu, frame: n)
            Console.out("guest stopped at frame \(n)" + (machine.vnc != nil ? "; QEMU serves it over VNC until Ctrl-C" : ""))
            if machine.vnc != nil, let status = qemu.hold(until: { stop.isSet }) { return qemuFailed(status, qemu.process.lastErrorLines) }
            return 0
        case .stopRequested(let frames):
            try writePNG(qemu, frame: Int(frames))
            Console.out("stopped after \(frames) guest frames")
            return 0
        case .guestExited(let status):
            Console.out("guest exited with status \(status)")
            if status != 0, noteless, machine.abiVersion < GuestABI.newest {
                Console.out(GuestOptions.notelessExitNote(image: machine.imageName, bootedAs: machine.abiVersion))
            }
            return (status << 1) | 1
        case .crashed(let crash):
            Console.error("the guest crashed under QEMU: \(crash)")
            return 2
        case .refused(let line):
            throw Failure(line)
        case .qemuExited(let status, let lines):
            return qemuFailed(status, lines)
        }
    }

    private func writePNG(_ qemu: QEMUInstance, frame: Int) throws {
        guard let png else { return }
        let path = URL(fileURLWithPath: png).appendingPathComponent(PNGDumper.fileName(forFrame: frame)).path
        let temporary = path + ".partial"
        do {
            try qemu.screendump(to: temporary)
            if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
            try FileManager.default.moveItem(atPath: temporary, toPath: path)
        } catch let e as QEMUError {
            throw Failure("--png: \(e)")
        } catch {
            throw Failure("--png \(path): \(error.localizedDescription)")
        }
        Console.out("wrote QEMU's screen to \(path)")
    }

    private func qemuFailed(_ status: Int32, _ lines: [String]) -> Int32 {
        Console.error("QEMU exited with status \(status)" + (lines.last.map { ": \($0)" } ?? ""))
        return 1
    }
}

