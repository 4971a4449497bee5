import Machine

public enum TrackingError: Error, CustomStringConvertible {
    case badRingSize(String)
    case noPageList(TrackingMode)
    case machine(MachineError)

    public var description: String {
        switch self {
        case .badRingSize(let s): return s
        case .noPageList(let m):
            return "--tracking \(m.rawValue) logs no dirty pages, so it has no migration list to give: use --tracking ring or bitmap with --migration-rounds"
        case .machine(let e): return e.description
        }
    }
}
