// zlib, libjpeg(-turbo) and libcrypto shim for the RFB server: fixed-arity calls over an
// opaque deflate stream (z_stream's layout stays in C), a JPEG compressor whose libjpeg errors
// come back as a return value (setjmp stays in C), and the one DES block operation VNC
// Authentication needs. No C type leaks into RFB's public API.
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

// Feeds `in_len` bytes to the stream without flushing (with `sync`, then a Z_SYNC_FLUSH),
// writing at most `out_cap` bytes; sets *consumed to the input bytes taken. Returns bytes
// written, or -1 on a zlib error. Call again with the rest of the input (and more room)
// while *consumed < in_len, or, with `sync`, while the output filled all of `out_cap`.
long crfb_deflate_feed(crfb_deflater *d, const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                       int sync, size_t *consumed);

// Inflates a whole zlib stream chunk by chunk (for tests): a new inflater per call chain.
typedef struct crfb_inflater crfb_inflater;
crfb_inflater *crfb_inflater_new(void);
void crfb_inflater_free(crfb_inflater *i);
// Inflates `in_len` bytes into `out` (capacity `out_cap`); returns bytes written or -1.
long crfb_inflate(crfb_inflater *i, const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap);

// A reusable JPEG compressor (libjpeg-turbo) writing into its own growing buffer.
// Returns NULL when out of memory.
typedef struct crfb_jpeg crfb_jpeg;
crfb_jpeg *crfb_jpeg_new(void);
void crfb_jpeg_free(crfb_jpeg *j);

// Chroma subsampling for crfb_jpeg_compress (TurboVNC's numbering).
enum { CRFB_SUBSAMP_NONE = 0, CRFB_SUBSAMP_420 = 1, CRFB_SUBSAMP_422 = 2, CRFB_SUBSAMP_GRAY = 3 };

// Compresses `width` x `height` pixels stored as B, G, R, X bytes (the guest's XRGB8888
// little-endian), rows `pitch` bytes apart, at `quality` (1...100). On success returns the
// JPEG's length and sets *out to it (valid until the next call or crfb_jpeg_free); returns
// -1 if libjpeg reported an error (the compressor stays usable) or memory ran out.
long crfb_jpeg_compress(crfb_jpeg *j, const void *bgrx, int width, int height, size_t pitch,
                        int quality, int subsampling, const uint8_t **out);

// Decodes a JPEG into `width` x `height` R, G, B bytes (for tests). Returns 0, or -1 when the
// data is not a JPEG of that size or libjpeg reported an error.
int crfb_jpeg_decompress(const uint8_t *data, size_t len, uint8_t *rgb, int width, int height);

// DES-ECB encrypts one 8-byte block with an 8-byte key, as VNC Authentication uses it
// (the caller reverses the key's bits first). Returns 0, or -1 if libcrypto failed.
int crfb_des_encrypt_block(const uint8_t key[8], const uint8_t in[8], uint8_t out[8]);

#ifdef __cplusplus
}
#endif
#endif
