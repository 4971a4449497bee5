#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization

/// One QEMU process running a Ringside guest behind the boot stub: started from a
/// `QEMUMachine`, driven over QMP, its guest watched through its RAM (`GuestRAMView`).
/// Its files (a copy of the stub and the image, the QMP socket) live in a private
/// directory that `quit()` removes.
public final class QEMUInstance: Sendable {
    public let machine: QEMUMachine
    public let process: VMMProcess
    public let qmp: QMPClient
    public let directory: String
    /// The guest's RAM, once found.
    private let ram = Mutex<GuestRAMView?>(nil)
    /// The stub's console lines ("ringside-stub: ..."), kept for the refusal message.
    private let stubLines = LineLog()

    /// QEMU's version as QMP reports it, e.g. "7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)".
    public let version: String

    /// Starts QEMU. `console` gets each line the guest writes to its debug console (the
    /// stub's own lines begin with "ringside-stub: "), `messages` each line QEMU prints.
    public init(_ machine: QEMUMachine, installation: QEMUInstallation, console: @escaping @Sendable (String) -> Void = { _ in },
                messages: @escaping @Sendable (String) -> Void = { _ in }) throws(QEMUError) {
        try machine.validate()
        self.machine = machine
        var template = Array("/tmp/ringside-qemu-XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw .system(operation: "mkdtemp /tmp/ringside-qemu-XXXXXX", errno: errno)
        }
        let dir = String(cString: made)
        directory = dir
        let files = QEMUCommandLine.Files(qemu: installation.qemu, qboot: installation.qboot, stub: dir + "/stub.bin",
                                          image: dir + "/guest.elf", modules: machine.modules.indices.map { "\(dir)/module-\($0 + 1)" },
                                          qmpSocket: dir + "/qmp.sock")
        do {
            try FileManager.default.copyItem(atPath: installation.stub, toPath: files.stub)
            try FileManager.default.copyItem(atPath: machine.imagePath, toPath: files.image)
            // Modules can be large (DOOM's WAD is 27 MB): linked, not copied, under names -initrd cannot misread.
            for (link, module) in zip(files.modules, machine.modules) {
                try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: URL(fileURLWithPath: module.path).path)
            }
        } catch {
            try? FileManager.default.removeItem(atPath: dir)
            throw .fileMissing(what: "the guest image, a boot module or the stub", path: machine.imagePath, remedy: "\(error.localizedDescription)")
        }
        let lines = stubLines
        let started: VMMProcess
        do {
            started = try VMMProcess(QEMUCommandLine.arguments(machine, files: files), stdout: { raw in
                // The guest's debug console, read as Ringside's DebugConsole reads it: carriage returns dropped.
                let line = raw.contains("\r") ? String(String.UnicodeScalarView(raw.unicodeScalars.filter { $0 != "\r" })) : raw
                if line.hasPrefix("ringside-stub: ") { lines.append(line) }
                console(line)
            }, stderr: messages)
        } catch {
            try? FileManager.default.removeItem(atPath: dir)
            throw error
        }
        process = started
        do {
            qmp = try QMPClient(path: files.qmpSocket, seconds: 30, alive: { started.exitStatus == nil })
        } catch {
            started.terminate()
            try? FileManager.default.removeItem(atPath: dir)
            if let status = started.exitStatus { throw .qemuExited(status: status, lastLines: started.lastErrorLines) }
            throw error
        }
        if let v = try? qmp.execute("query-version") as? [String: Any], let q = v["qemu"] as? [String: Any] {
            version = "\(q["major"] ?? 0).\(q["minor"] ?? 0).\(q["micro"] ?? 0)" + ((v["package"] as? String).map { " (\($0.trimmingCharacters(in: .whitespaces)))" } ?? "")
        } else {
            version = ""
        }
    }

    /// The last line the stub printed ("ringside-stub: ..."), if any: it prints only to refuse.
    public var lastStubLine: String? { stubLines.last }

    /// The guest's RAM in QEMU once the stub has written the boot info (nil before).
    public var guestRAM: GuestRAMView? {
        ram.withLock { ram in
            if ram == nil { ram = GuestRAMView.find(pid: process.pid) }
            return ram
        }
    }

    /// What the stub's state page says now (nil before the loader wrote it or after QEMU exited).
    public var stubState: StubState? { guestRAM?.stubState }

    /// Waits until the guest runs, or has already stopped at its frame, crashed or exited
    /// (`run` reports those). Throws the stub's refusal, QEMU's own failure, or a timeout.
    public func waitForGuest(seconds: Double = 60) throws(QEMUError) {
        let deadline = Date(timeIntervalSinceNow: seconds)
        while true {
            if let s = stubState {
                switch s.phase {
                case .running, .stopped, .crashed: return
                case .refused: throw .refused(stubLines.last ?? "the boot stub refused the guest")
                case .loading, .unknown: break
                }
            }
            if let status = process.exitStatus {
                if let line = stubLines.last { throw .refused(line) }
                if Self.isGuestExit(status, guestRan: false, errorLines: process.lastErrorLines) { return }
                throw .qemuExited(status: status, lastLines: process.lastErrorLines)
            }
            guard Date() < deadline else { throw .timedOut(what: "start the guest", seconds: seconds) }
            usleep(5_000)
        }
    }

    /// isa-debug-exit makes QEMU exit with `(v << 1) | 1`: an odd status from a QEMU that ran the
    /// guest, or that printed no error of its own, is the guest's.
    static func isGuestExit(_ status: Int32, guestRan: Bool, errorLines: [String]) -> Bool {
        status & 1 == 1 && status < 128 && (guestRan || errorLines.isEmpty)
    }

    /// Writes QEMU's screen (what its VGA shows, as its VNC server serves it) to a PNG file.
    public func screendump(to path: String) throws(QEMUError) {
        try qmp.execute("screendump", ["filename": path, "format": "png"])
    }

    /// The TCP port QEMU's VNC server listens on.
    public func vncPort() throws(QEMUError) -> Int {
        guard let info = try qmp.execute("query-vnc") as? [String: Any], let service = info["service"] as? String, let port = Int(service) else {
            throw .qmpProtocol("query-vnc did not name a port")
        }
        return port
    }

    /// Stops QEMU (QMP `quit`, then SIGTERM, then SIGKILL) and removes its directory.
    public func quit() {
        if process.exitStatus == nil {
            _ = try? qmp.execute("quit")
            if process.wait(seconds: 10) == nil { process.terminate() }
        }
        process.wait(seconds: 5)
        try? FileManager.default.removeItem(atPath: directory)
    }
}
