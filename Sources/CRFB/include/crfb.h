// zlib and libcrypto shim for the RFB server: fixed-arity calls over an opaque deflate
// stream (z_stream's layout stays in C), and the one DES block operation VNC Authentication
// needs. No C type leaks into RFB's public API.
#ifndef CRFB_H
#define CRFB_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct crfb_deflater crfb_deflater;

// A raw zlib stream (with zlib header, as RFB's ZRLE and Tight want) at `level` (0...9).
// Returns NULL when out of memory.
crfb_deflater *crfb_deflater_new(int level);
void crfb_deflater_free(crfb_deflater *d);

// Compresses `in_len` bytes and ends with a Z_SYNC_FLUSH, writing at most `out_cap` bytes.
// Returns bytes written, or -1 on a zlib error, or -2 when `out_cap` was too small
// (use crfb_deflate_bound).
long crfb_deflate_sync(crfb_deflater *d, const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap);

// An upper bound on what crfb_deflate_sync writes for `in_len` input bytes.
size_t crfb_deflate_bound(size_t in_len);

// Inflates a whole zlib stream chunk by chunk (for tests): a new inflater per call chain.
typedef struct crfb_inflater crfb_inflater;
crfb_inflater *crfb_inflater_new(void);
void crfb_inflater_free(crfb_inflater *i);
// Inflates `in_len` bytes into `out` (capacity `out_cap`); returns bytes written or -1.
long crfb_inflate(crfb_inflater *i, const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap);

// DES-ECB encrypts one 8-byte block with an 8-byte key, as VNC Authentication uses it
// (the caller reverses the key's bits first). Returns 0, or -1 if libcrypto failed.
int crfb_des_encrypt_block(const uint8_t key[8], const uint8_t in[8], uint8_t out[8]);

#ifdef __cplusplus
}
#endif
#endif
