import KVM

/// Errors that stop a machine from being built or booted. `description` is the user's line.
public enum MachineError: Error, CustomStringConvertible {
    case kvm(KVMError)
    case image(GuestImageError)
    case module(BootModuleError)
    case badGeometry(String)
    case badMemory(String)
    case badCPUCount(String)
    case badArguments(String)
    case unknownGuest(String, known: [String])
    /// A guest built by a script outside the repository (`BuiltGuest`) that has not been built.
    case guestNotBuilt(name: String, directory: String, command: String)
    /// A vCPU's state was asked for (`operation`) while it runs.
    case vcpuRunning(cpu: Int, operation: String)
    /// A snapshot does not fit the configuration it is restored with.
    case snapshotMismatch(String)

    public var description: String {
        switch self {
        case .kvm(let e): return e.description
        case .image(let e): return e.description
        case .module(let e): return e.description
        case .badGeometry(let s), .badMemory(let s), .badCPUCount(let s), .badArguments(let s), .snapshotMismatch(let s): return s
        case .vcpuRunning(let cpu, let operation):
            return "cannot \(operation) of vCPU \(cpu) while it runs: pause the machine first (or wait until the run ends)"
        case .guestNotBuilt(let name, let directory, let command):
            return "the \(name) guest is not built (nothing in \(directory)): run `\(command)` in the Ringside checkout, which fetches and builds it there"
        case .unknownGuest(let name, let known):
            return "no built-in guest named '\(name)' (built-in: \(known.joined(separator: ", ")); or pass a path to an ELF image)"
        }
    }
}
