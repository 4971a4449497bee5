import CLibFuzzer
import FuzzEntries
#if canImport(Glibc)
import Glibc
#endif

/// The target libFuzzer's callback runs: set once, before the driver starts, and only read
/// after (libFuzzer calls back on the thread that started it).
nonisolated(unsafe) private var current = FuzzTarget.migrationDecoder

/// Runs libFuzzer over `target` with the process's arguments (libFuzzer's flags), or, with
/// RINGSIDE_FUZZ_SEEDS_TO=DIR in the environment, writes the target's seeds to DIR.
public func runLibFuzzer(_ target: FuzzTarget) -> Never {
    target.writeSeedsIfAsked()
    current = target
    var argc = CommandLine.argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
    let status = LLVMFuzzerRunDriver(&argc, &argv) { data, size in
        current.fuzz(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
        return 0
    }
    exit(status)
}
