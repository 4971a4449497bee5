/// The bytes of one port access (1, 2 or 4 of them, little-endian in `value`), as
/// `KVM_EXIT_IO` carries them: what an `out` wrote, or what an `in` will read.
struct PortData: Equatable, Sendable {
    var size: Int
    var value: UInt32
}

/// What a port write asks of the vCPU that made it, besides what the device did itself.
enum PortAction: Equatable, Sendable {
    case none
    /// The guest waits for another vCPU's thread: let the host run it.
    case yield
    /// The vCPU finished frame `n` (its doorbell work is done).
    case frameDone(Int)
    /// The guest asked to end the run with this status.
    case exit(status: UInt32)
}

/// A device on the port bus (Firecracker's `BusDevice`): it fills the data of an `in` and
/// takes an `out`. It runs on the thread of the vCPU that made the access, out of the guest.
protocol PortDevice: Sendable {
    /// The ports it answers.
    var ports: ClosedRange<UInt16> { get }
    /// `in` from `port` by vCPU `cpu`: fill `data`, which arrives as all ones (the default
    /// leaves it so: a write-only port reads like an empty one).
    func read(port: UInt16, cpu: Int, data: inout PortData)
    /// `out` of `data` to `port` by vCPU `cpu`.
    func write(port: UInt16, cpu: Int, data: PortData) -> PortAction
}

extension PortDevice {
    func read(port: UInt16, cpu: Int, data: inout PortData) {}
}

/// The machine's I/O ports (Firecracker's `devices/bus.rs`): which device answers which
/// port. A port no device answers reads all ones and drops writes, as an empty ISA bus does.
struct PortBus: Sendable {
    private let devices: [any PortDevice]

    init(_ devices: [any PortDevice]) {
        let sorted = devices.sorted { $0.ports.lowerBound < $1.ports.lowerBound }
        for (a, b) in zip(sorted, sorted.dropFirst()) {
            precondition(a.ports.upperBound < b.ports.lowerBound, "port devices overlap at \(b.ports.lowerBound)")
        }
        self.devices = sorted
    }

    func device(at port: UInt16) -> (any PortDevice)? { devices.first { $0.ports.contains(port) } }

    /// An `in` of `size` bytes from `port` by vCPU `cpu`: the bytes the guest reads.
    func read(port: UInt16, size: Int, cpu: Int) -> UInt32 {
        var data = PortData(size: size, value: .max)
        device(at: port)?.read(port: port, cpu: cpu, data: &data)
        return data.value
    }

    /// An `out` of `value` (`size` bytes) to `port` by vCPU `cpu`.
    func write(port: UInt16, size: Int, value: UInt32, cpu: Int) -> PortAction {
        device(at: port)?.write(port: port, cpu: cpu, data: PortData(size: size, value: value)) ?? .none
    }
}
