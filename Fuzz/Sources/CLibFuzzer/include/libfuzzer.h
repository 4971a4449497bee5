#pragma once
#include <stddef.h>
#include <stdint.h>

// libFuzzer's driver (compiler-rt, linked by -sanitize=fuzzer): runs the fuzzing loop over
// `callback` with libFuzzer's command-line flags. SwiftPM gives every executable its own
// `main`, so the binaries call this instead of relying on libFuzzer's.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
