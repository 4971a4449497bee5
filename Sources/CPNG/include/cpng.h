// libpng shim for Ringside: one fixed-arity call that writes an XRGB8888 buffer as an
// 8-bit RGB PNG. libpng reports errors by longjmp, which Swift cannot catch, so the
// setjmp handling stays here in C.
#ifndef CPNG_H
#define CPNG_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// Filter selection bits for `filters` (libpng's PNG_FILTER_* values).
#define CPNG_FILTER_NONE  0x08
#define CPNG_FILTER_SUB   0x10
#define CPNG_FILTER_UP    0x20
#define CPNG_FILTER_AVG   0x40
#define CPNG_FILTER_PAETH 0x80

// `flags` bit: fsync the file before closing it (survives a crash once renamed).
#define CPNG_SYNC 0x1

// Writes `pixels` (height rows `stride` bytes apart; each pixel a little-endian uint32
// 0x00RRGGBB, i.e. bytes B,G,R,X) to a new file at `path` as an 8-bit RGB PNG, dropping X.
// `level` is the zlib level (0-9), `filters` a set of CPNG_FILTER_* bits.
// Every fwrite, fflush, (fsync) and fclose is checked: a full disk is an error, never a
// silently short file. On failure the partial file is left for the caller to remove.
// Returns 0, or an errno value (EIO for a libpng error, EINVAL for bad arguments) with a
// one-line message in `err` (always NUL-terminated when errlen > 0).
int cpng_write_xrgb(const char *path, const void *pixels, uint32_t width, uint32_t height,
                    uint32_t stride, int level, int filters, unsigned flags,
                    char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif
