// zlib for the migration stream's compressed page batches: one-shot deflate, and an inflate
// bounded by the size the sender declared (z_stream's layout stays in C).
#ifndef CZLIB_H
#define CZLIB_H

#include <stddef.h>
#include <stdint.h>

// The most bytes deflating `in_len` bytes can produce (zlib's compressBound).
size_t czlib_bound(size_t in_len);

// Deflates `in` as one zlib stream (with header) at `level` (1...9) into `out`.
// Returns the bytes written, or -1 on a zlib error or when `out_cap` is too small.
long czlib_deflate(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, int level);

// Results of czlib_inflate_exact besides 0 (success).
enum {
    CZLIB_CORRUPT = -1,   // not a valid zlib stream (or a bad checksum)
    CZLIB_TRUNCATED = -2, // the stream ended before its end marker
    CZLIB_TOO_LONG = -3,  // it inflates to more than out_cap bytes
    CZLIB_TOO_SHORT = -4, // it ended with fewer than out_cap bytes
    CZLIB_TRAILING = -5,  // bytes follow the stream's end
    CZLIB_NO_MEMORY = -6,
};

// Inflates one zlib stream that must produce exactly `out_cap` bytes into `out` and use all of
// `in`. Never writes past `out_cap`: a stream that would inflate further stops there (a zip bomb
// costs at most out_cap bytes and the input's length in time).
int czlib_inflate_exact(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap);

#endif
