/// Why the control socket could not be made or reached; `description` is the user's line.
public struct ControlError: Error, CustomStringConvertible, Equatable, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
