import ArgumentParser
import Foundation

@main
enum RingsideMain {
    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        var command: ParsableCommand
        do {
            command = try Ringside.parseAsRoot(arguments)
        } catch {
            // --help, --version, `ringside help run`: ArgumentParser prints them, status 0.
            if Ringside.exitCode(for: error) == .success { Ringside.exit(withError: error) }
            Console.error(UsageErrors.line(for: error, arguments: arguments))
            exit(1)
        }
        if let repeated = UsageErrors.repeatedOption(in: arguments) {
            Console.error(repeated)
            exit(1)
        }
        do {
            try command.run()
        } catch {
            // `ringside help run` ends by throwing its help text: status 0.
            if Ringside.exitCode(for: error) == .success { Ringside.exit(withError: error) }
            Console.error(UsageErrors.line(for: error, arguments: arguments))
            exit(1)
        }
    }
}

/// Command-line mistakes as the one line `ringside: <what was wrong> (see 'ringside <sub> --help')`.
enum UsageErrors {
    static let subcommands = Ringside.configuration.subcommands.map { $0._commandName }

    /// The subcommand `arguments` select: the first argument when it names one, `run` (the
    /// default) when the first argument is an option, nil for an unknown word.
    static func subcommand(of arguments: [String]) -> String? {
        guard let first = arguments.first else { return "run" }
        if subcommands.contains(first) { return first }
        return first.hasPrefix("-") ? "run" : nil
    }

    static func line(for error: Error, arguments: [String]) -> String {
        let message = Ringside.message(for: error)
        let what: String
        if let numeric = OptionValueError.thrown.explaining(message) {
            what = numeric.description
        } else {
            // ArgumentParser's sentences, one line, in the house style: "Missing value for
            // '--cpus <cpus>'" becomes "missing value for --cpus".
            let lines = message.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            what = lowercasingFirstWord(lines.joined(separator: " ")
                .replacingOccurrences(of: #"'(--?[A-Za-z0-9-]+) <[A-Za-z0-9-]+>'"#, with: "$1", options: .regularExpression))
        }
        let help = subcommand(of: arguments).map { "ringside \($0) --help" } ?? "ringside --help"
        return "\(what.isEmpty ? "bad command line" : what) (see '\(help)')"
    }

    /// "Missing value" -> "missing value"; "ELF ..." and "--cpus ..." stay as they are.
    static func lowercasingFirstWord(_ s: String) -> String {
        guard let first = s.first, first.isUppercase, s.dropFirst().prefix(while: { $0.isLetter }).allSatisfy(\.isLowercase) else { return s }
        return first.lowercased() + s.dropFirst()
    }

    /// The options meant to be given more than once (each adds one value).
    static let repeatable: Set<String> = ["--module", "--restore"]

    /// Every other option of every subcommand takes at most one value, and ArgumentParser would
    /// silently keep the last of `--cpus 1 --cpus 2`: such a line is refused instead. Called
    /// after a successful parse, when every argument that starts with `--` names an option
    /// (a numeric option's value never starts with `--`, and none of the other options takes
    /// a value starting with `-`), up to a bare `--`.
    static func repeatedOption(in arguments: [String]) -> String? {
        var seen: [String: Int] = [:]
        var order: [String] = []
        for a in arguments {
            if a == "--" { break }
            guard a.hasPrefix("--") else { continue }
            let name = String(a.split(separator: "=", maxSplits: 1).first ?? Substring(a))
            if repeatable.contains(name) { continue }
            if seen[name] == nil { order.append(name) }
            seen[name, default: 0] += 1
        }
        guard let name = order.first(where: { seen[$0]! > 1 }) else { return nil }
        let help = subcommand(of: arguments).map { "ringside \($0) --help" } ?? "ringside --help"
        return "\(name) is given \(seen[name]!) times: give each option at most once (see '\(help)')"
    }
}
