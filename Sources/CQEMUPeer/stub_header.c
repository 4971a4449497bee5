/* Compiles the stub header once on the VMM side, so its _Static_asserts are checked here too. */
#include "ringside_qemu_stub.h"
