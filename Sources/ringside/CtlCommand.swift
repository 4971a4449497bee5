import ArgumentParser
import Control
import Foundation

struct CtlCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ctl",
        abstract: "Ask a running ringside (run or receive with --control PATH) for its status, or to pause, resume, migrate, snapshot or quit.",
        discussion: """
        Commands: status; pause; resume; migrate HOST:PORT [--max-downtime MS] [--max-bandwidth RATE] [--max-rounds N] [--migrate-compress auto|on|off] [--auto-converge on|off] [--verify-migration]; \
        cancel (the migration in progress); snapshot FILE [--incremental BASE] (BASE: the last snapshot this guest wrote); quit. \
        --json prints the answer as the socket sent it, one JSON line (docs/control.md). Exit status 0 when the request was carried out, \
        1 with one line on stderr otherwise.
        """
    )

    @Argument(help: ArgumentHelp("The control socket (`ringside run --control PATH`).", valueName: "path"))
    var path: String
    @Argument(parsing: .captureForPassthrough, help: ArgumentHelp("The command and its arguments.", valueName: "command"))
    var words: [String] = []

    func run() throws {
        runReportingFailures {
            var rest = words
            let json = Self.take(flag: "--json", from: &rest)
            let timeout = try Self.takeTimeout(from: &rest)
            let request: ControlRequest
            do { request = try ControlRequest.parse(words: Self.absolute(rest)) } catch { throw Failure("\(error) (see 'ringside ctl --help')") }
            let answer: (line: String, answer: ControlAnswer)
            do throws(ControlError) { answer = try ControlClient.send(request, to: path, timeout: timeout) } catch {
                if json { Console.out(ControlAnswer.failure(request.command, error.description).line) }
                throw Failure(error.description)
            }
            if json { Console.out(answer.line) } else if answer.answer.ok { ControlAnswerText.lines(answer.answer).forEach(Console.out) }
            guard answer.answer.ok else { throw Failure(answer.answer.error ?? "the request failed") }
            return 0
        }
    }

    static func take(flag: String, from words: inout [String]) -> Bool {
        let had = words.contains(flag)
        words.removeAll { $0 == flag }
        return had
    }

    /// `--timeout S` (1...3600, default 60): how long to wait for the answer.
    static func takeTimeout(from words: inout [String]) throws -> Double {
        guard let i = words.firstIndex(of: "--timeout") else { return 60 }
        guard i + 1 < words.count, let s = Double(words[i + 1]), s.isFinite, (1...3600).contains(s) else {
            throw Failure("--timeout needs seconds, 1...3600 (see 'ringside ctl --help')")
        }
        words.removeSubrange(i...(i + 1))
        return s
    }

    /// `snapshot FILE [--incremental BASE]` and `migrate`'s `--migrate-tls-*` files with paths
    /// relative to this directory made absolute: the guest's process has a working directory of its own.
    static func absolute(_ words: [String]) -> [String] {
        let cwd = FileManager.default.currentDirectoryPath
        func made(_ w: String) -> String { w.hasPrefix("/") || w.isEmpty ? w : (cwd == "/" ? "" : cwd) + "/" + w }
        var out = words
        switch words.first {
        case "snapshot":
            for i in out.indices.dropFirst() where !out[i].hasPrefix("--") { out[i] = made(out[i]) }
        case "migrate":
            for i in out.indices.dropFirst() where out[i - 1].hasPrefix("--migrate-tls-") { out[i] = made(out[i]) }
        default: break
        }
        return out
    }
}
