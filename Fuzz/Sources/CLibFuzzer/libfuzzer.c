// Only the declaration in include/libfuzzer.h: the driver itself is in libclang_rt.fuzzer.
#include "libfuzzer.h"
