#define OPENSSL_SUPPRESS_DEPRECATED 1
#include "crfb.h"
#include <openssl/des.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

struct crfb_deflater { z_stream z; };
struct crfb_inflater { z_stream z; };

crfb_deflater *crfb_deflater_new(int level) {
    crfb_deflater *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    if (deflateInit(&d->z, level) != Z_OK) { free(d); return NULL; }
    return d;
}

void crfb_deflater_free(crfb_deflater *d) {
    if (!d) return;
    deflateEnd(&d->z);
    free(d);
}

long crfb_deflate_feed(crfb_deflater *d, const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                       int sync, size_t *consumed) {
    d->z.next_in = (Bytef *)in;
    d->z.avail_in = (uInt)in_len;
    d->z.next_out = out;
    d->z.avail_out = (uInt)out_cap;
    int r = deflate(&d->z, sync ? Z_SYNC_FLUSH : Z_NO_FLUSH);
    *consumed = in_len - d->z.avail_in;
    if (r != Z_OK && r != Z_BUF_ERROR) return -1;
    return (long)(out_cap - d->z.avail_out);
}

crfb_inflater *crfb_inflater_new(void) {
    crfb_inflater *i = calloc(1, sizeof *i);
    if (!i) return NULL;
    if (inflateInit(&i->z) != Z_OK) { free(i); return NULL; }
    return i;
}

void crfb_inflater_free(crfb_inflater *i) {
    if (!i) return;
    inflateEnd(&i->z);
    free(i);
}

long crfb_inflate(crfb_inflater *i, const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap) {
    i->z.next_in = (Bytef *)in;
    i->z.avail_in = (uInt)in_len;
    i->z.next_out = out;
    i->z.avail_out = (uInt)out_cap;
    int r = inflate(&i->z, Z_SYNC_FLUSH);
    if (r != Z_OK && r != Z_BUF_ERROR && r != Z_STREAM_END) return -1;
    return (long)(out_cap - i->z.avail_out);
}

int crfb_des_encrypt_block(const uint8_t key[8], const uint8_t in[8], uint8_t out[8]) {
    DES_cblock k, i, o;
    DES_key_schedule schedule;
    memcpy(k, key, 8);
    memcpy(i, in, 8);
    DES_set_key_unchecked(&k, &schedule);
    DES_ecb_encrypt(&i, &o, &schedule, DES_ENCRYPT);
    memcpy(out, o, 8);
    return 0;
}
