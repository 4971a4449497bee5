import Synchronization

/// The debug console (port 0xE9, Bochs/QEMU debugcon): each vCPU's bytes, assembled into
/// lines for `MachineEvents.consoleLine`.
final class ConsolePort: PortDevice {
    let ports = GuestLayout.Port.debugConsole...GuestLayout.Port.debugConsole
    private let consoles: Mutex<[DebugConsole]>
    private let consoleLine: (@Sendable (_ cpu: Int, _ line: String) -> Void)?

    init(cpus: Int, consoleLine: (@Sendable (Int, String) -> Void)?) {
        consoles = Mutex(Array(repeating: DebugConsole(), count: cpus))
        self.consoleLine = consoleLine
    }

    func write(port: UInt16, cpu: Int, data: PortData) -> PortAction {
        let line = consoles.withLock { $0[cpu].put(UInt8(truncatingIfNeeded: data.value)) }
        if let line { consoleLine?(cpu, line) }
        return .none
    }

    /// The last complete line of any vCPU (the highest-numbered vCPU that printed one).
    var lastLine: String? { consoles.withLock { $0.compactMap(\.lastLine).last } }

    /// vCPU `cpu`'s last complete line, or else what it printed without a newline (for a crash report).
    func lastWords(cpu: Int) -> String? { consoles.withLock { $0[cpu].lastLine ?? $0[cpu].unfinished } }

    /// Each vCPU's output since its last newline (nil when none).
    var unfinished: [String?] { consoles.withLock { $0.map(\.unfinished) } }

    /// Continues each vCPU's unfinished line from the source's bytes (a restore, before `start()`).
    func restore(unfinished lines: [[UInt8]]) {
        consoles.withLock { consoles in
            for (i, bytes) in zip(consoles.indices, lines) {
                for b in bytes where b != UInt8(ascii: "\n") { _ = consoles[i].put(b) }
            }
        }
    }
}
