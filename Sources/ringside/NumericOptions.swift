import Foundation
import Machine
import Synchronization

/// A numeric option value that is not a number or lies outside the option's range. The
/// description is the whole line the user sees, naming the option, the value as typed and
/// the allowed range.
struct OptionValueError: Error, CustomStringConvertible, Equatable {
    let description: String

    /// ArgumentParser wraps an error thrown by a `transform` in its own sentence ("The value
    /// 'x' is invalid for '--frames <frames>': ..."), and that wrapper is not public. The
    /// errors thrown are kept here so that `UsageErrors` can show the line itself.
    static let thrown = ThrownOptionErrors()
}

final class ThrownOptionErrors: Sendable {
    private let errors = Mutex<[OptionValueError]>([])
    func record(_ e: OptionValueError) { errors.withLock { $0.append(e) } }
    /// The most recent error whose line ends `message` (ArgumentParser's text), if any.
    func explaining(_ message: String) -> OptionValueError? {
        errors.withLock { $0.last { message.hasSuffix($0.description) } }
    }
}

/// The range of every numeric option, and `transform` closures for ArgumentParser that turn
/// the typed text into a value inside that range or throw one line. No value a user can type
/// reaches a conversion that traps (`UInt64(1e9 / hz)`, `Int(seconds * 1e9)`, `a * b`).
enum NumericOptions {
    // ringside run
    static let frames = 1...1_000_000_000
    /// At most one year; below a millisecond the stop timer would be a busy loop.
    static let seconds = 0.001...31_536_000.0
    /// Display refreshes per second.
    static let refresh = 1.0...1000.0
    /// Guest pacing: 0 (free-run) or this.
    static let guestHz = MachineConfig.guestHzRange
    /// Milliseconds per migration round: 1 ms to one hour.
    static let migrationRoundsMS = 1...3_600_000
    static let cpus = 1...GuestLayout.maxVCPUs
    static let width = MachineConfig.widthRange
    static let height = MachineConfig.heightRange
    /// Bytes per row: the relation to --width is checked by `MachineConfig.validate`.
    static let pitch = 4...(MachineConfig.widthRange.upperBound * 4 + 65536)
    /// Dirty ring entries: one page of 16-byte entries up to KVM's maximum
    /// (KVM_DIRTY_RING_MAX_ENTRIES); the host's own limit is checked when the VM is made.
    static let ringEntries = 256...65536
    static let pngEvery = 1...1_000_000_000
    /// Guest ABI versions this ringside boots.
    static let guestABI = Int(GuestABI.oldest)...Int(GuestABI.newest)

    // --vnc limits
    static let vncAuthBlockAfter = 0...1_000_000
    /// Up to a day (the doubling stops there too).
    static let vncAuthBlockSeconds = 0.001...86_400.0
    static let vncMaxClients = 1...4096

    // ringside bench
    static let benchFrames = 1...100_000
    static let benchWarmup = 0...10_000
    static let benchFreeRunSeconds = 0.01...600.0
    /// Free-run refreshes per second: 0 (back to back) or this.
    static let benchRefreshHz = 1.0...100_000.0
    static let benchRounds = 1...100_000

    /// A whole number in `range` (and a power of two when asked).
    static func int(_ option: String, _ range: ClosedRange<Int>, powerOfTwo: Bool = false,
                    unit: String = "") -> @Sendable (String) throws -> Int {
        { text in
            let allowed = rangeText(range, powerOfTwo: powerOfTwo) + unit
            guard let value = wholeNumber(text) else {
                throw record("\(option) '\(text)' is not a whole number: use \(allowed)")
            }
            guard let v = value, range.contains(v) else {
                throw record("\(option) \(text) is out of range: use \(allowed)")
            }
            if powerOfTwo && v & (v - 1) != 0 {
                throw record("\(option) \(text) is not a power of two: use \(allowed)")
            }
            return v
        }
    }

    /// A finite number in `range`, or exactly 0 when `zeroMeans` says what 0 does.
    static func double(_ option: String, _ range: ClosedRange<Double>, zeroMeans: String? = nil,
                       unit: String = "") -> @Sendable (String) throws -> Double {
        { text in
            let allowed = (zeroMeans.map { "0 (\($0)) or " } ?? "") + "\(number(range.lowerBound))...\(number(range.upperBound))" + unit
            guard let v = Double(text.trimmingCharacters(in: .whitespaces)) else {
                throw record("\(option) '\(text)' is not a number: use \(allowed)")
            }
            if zeroMeans != nil && v == 0 { return 0 }
            guard v.isFinite, range.contains(v) else {
                throw record("\(option) \(text) is out of range: use \(allowed)")
            }
            return v
        }
    }

    /// nil when `text` is not an integer at all; .some(nil) when it is one too large for Int.
    private static func wholeNumber(_ text: String) -> Int?? {
        let t = text.trimmingCharacters(in: .whitespaces)
        if let v = Int(t) { return .some(v) }
        let digits = t.hasPrefix("-") || t.hasPrefix("+") ? t.dropFirst() : Substring(t)
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return .some(nil)
    }

    private static func rangeText(_ range: ClosedRange<Int>, powerOfTwo: Bool) -> String {
        powerOfTwo ? "a power of two from \(range.lowerBound) to \(range.upperBound)" : "\(range.lowerBound)...\(range.upperBound)"
    }

    /// `1`, `0.001`, `31536000`: no trailing `.0`, no exponent.
    static func number(_ v: Double) -> String {
        v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : String(v)
    }

    private static func record(_ line: String) -> OptionValueError {
        let e = OptionValueError(description: line)
        OptionValueError.thrown.record(e)
        return e
    }
}
