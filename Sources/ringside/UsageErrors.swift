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
}
