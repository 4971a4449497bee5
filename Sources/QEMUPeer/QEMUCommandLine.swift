import Foundation

/// QEMU's command line for a `QEMUMachine`: the settings `assets/peers/qemu/README.md` lists,
/// each for a reason given beside it. Pure: tests check it without QEMU.
public enum QEMUCommandLine {
    /// Files the command line names (all in a private directory, without commas or spaces,
    /// which QEMU's -initrd would split on).
    public struct Files: Sendable {
        public var qemu: String
        public var qboot: String
        public var stub: String
        public var image: String
        /// The machine's modules, in order (no commas or spaces either).
        public var modules: [String]
        public var qmpSocket: String

        public init(qemu: String, qboot: String, stub: String, image: String, modules: [String] = [], qmpSocket: String) {
            self.qemu = qemu
            self.qboot = qboot
            self.stub = stub
            self.image = image
            self.modules = modules
            self.qmpSocket = qmpSocket
        }
    }

    /// The stub's options (its multiboot command line), then the guest's arguments verbatim.
    public static func stubOptions(_ m: QEMUMachine) -> String {
        "ringside-stub pit=\(m.pitDivisor) frames=\(m.frames ?? 0) width=\(m.width) height=\(m.height) ram=\(m.ramBytes) abi=\(m.abiVersion) cpus=\(m.cpus) -- "
            + m.arguments
    }

    /// `-initrd`: the image, then each module as "FILE NAME" (the stub reads the name from the
    /// module's command line). QEMU splits the list at commas and reads ",," as one comma.
    public static func initrd(_ m: QEMUMachine, files f: Files) -> String {
        ([f.image] + zip(f.modules, m.modules).map { "\($0) \($1.name)" })
            .map { $0.replacingOccurrences(of: ",", with: ",,") }.joined(separator: ",")
    }

    public static func arguments(_ m: QEMUMachine, files f: Files) -> [String] {
        var accel = "kvm"
        if case .ring(let entries) = m.tracking { accel += ",dirty-ring-size=\(entries)" }
        var a = [
            f.qemu, "-nodefaults", "-no-user-config", "-name", "ringside-\(m.imageName)",
            "-machine", "pc", "-accel", accel,
            "-cpu", "qemu64,-pni", // the default model; PVM hosts lack SSE3 (pni), and -cpu host/max abort there
            "-smp", "\(m.cpus)", "-m", "\(m.ramBytes >> 20)M",
            "-bios", f.qboot, // ~1 s to the guest where SeaBIOS takes ~4 s of emulated real mode
            "-kernel", f.stub, "-initrd", initrd(m, files: f), "-append", stubOptions(m),
            "-vga", "std", "-global", "VGA.vgamem_mb=\(m.videoMemoryMiB)", // DISPI at 0x1CE, framebuffer at BAR0
            "-display", "none",
            "-chardev", "stdio,id=console,signal=off", "-device", "isa-debugcon,iobase=0xe9,chardev=console",
            "-device", "isa-debug-exit,iobase=0xf4,iosize=0x4", // exits with (v << 1) | 1, as ringside run
            "-global", "kvm-pit.lost_tick_policy=discard", // closest to Ringside's "hold until the next tick"
            "-no-reboot", "-qmp", "unix:\(f.qmpSocket),server=on,wait=off",
        ]
        if let vnc = m.vnc {
            let display = vnc.port == 0 ? "0,to=\(65535 - 5900)" : "\(vnc.port - 5900)"
            let host = vnc.host.contains(":") ? "[\(vnc.host)]" : vnc.host
            a += ["-vnc", "\(host):\(display)" + (vnc.lossy ? ",lossy=on" : "")]
        }
        if let incoming = m.incoming { a += ["-incoming", "tcp:\(incoming.host):\(incoming.port)"] }
        return a
    }
}
