#include "czlib.h"
#include <limits.h>
#include <zlib.h>

size_t czlib_bound(size_t in_len) { return (size_t)compressBound((uLong)in_len); }

long czlib_deflate(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, int level) {
    if (in_len > UINT_MAX || out_cap > UINT_MAX) return -1;
    z_stream s = {0};
    if (deflateInit(&s, level) != Z_OK) return -1;
    s.next_in = (Bytef *)in;
    s.avail_in = (uInt)in_len;
    s.next_out = out;
    s.avail_out = (uInt)out_cap;
    int rc = deflate(&s, Z_FINISH);
    long written = (long)(out_cap - s.avail_out);
    deflateEnd(&s);
    return rc == Z_STREAM_END ? written : -1;
}

int czlib_inflate_exact(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap) {
    if (in_len > UINT_MAX || out_cap > UINT_MAX) return CZLIB_CORRUPT;
    z_stream s = {0};
    if (inflateInit(&s) != Z_OK) return CZLIB_NO_MEMORY;
    s.next_in = (Bytef *)in;
    s.avail_in = (uInt)in_len;
    s.next_out = out;
    s.avail_out = (uInt)out_cap;
    int rc = inflate(&s, Z_FINISH);
    int result;
    if (rc == Z_STREAM_END) {
        result = s.avail_out != 0 ? CZLIB_TOO_SHORT : s.avail_in != 0 ? CZLIB_TRAILING : 0;
    } else if (rc == Z_BUF_ERROR && s.avail_out == 0 && s.avail_in != 0) {
        // Out of room with input left: it would inflate past the declared size.
        result = CZLIB_TOO_LONG;
    } else if (rc == Z_BUF_ERROR) {
        result = CZLIB_TRUNCATED;
    } else if (rc == Z_MEM_ERROR) {
        result = CZLIB_NO_MEMORY;
    } else {
        result = CZLIB_CORRUPT;
    }
    inflateEnd(&s);
    return result;
}
