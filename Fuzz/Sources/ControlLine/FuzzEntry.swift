import FuzzEntries

/// libFuzzer's entry: one input through `FuzzTarget.controlLine`. A broken invariant stops the
/// process, so the fuzzer keeps the input as a crash.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    FuzzTarget.controlLine.fuzz(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
    return 0
}

/// libFuzzer calls this once before the inputs: with RINGSIDE_FUZZ_SEEDS_TO=DIR it writes the
/// target's seeds to DIR instead and exits (`scripts/fuzz.sh seeds`).
@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<CInt>?, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>?) -> CInt {
    FuzzTarget.controlLine.writeSeedsIfAsked()
    return 0
}
