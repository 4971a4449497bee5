// libpng shim: see include/cpng.h.
#include "cpng.h"

#include <errno.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

// Error state shared with the libpng callbacks. `code` holds the first errno seen
// (a failed fwrite keeps its ENOSPC; a libpng-internal error becomes EIO).
struct cpng_state {
    FILE *fp;
    int code;
    char message[200];
};

static void cpng_fail(struct cpng_state *s, int code, const char *what) {
    if (s->code != 0) return;  // keep the first, most specific failure
    s->code = code != 0 ? code : EIO;
    snprintf(s->message, sizeof s->message, "%s: %s", what, strerror(s->code));
}

static void cpng_on_error(png_structp png, png_const_charp message) {
    struct cpng_state *s = png_get_error_ptr(png);
    if (s->code == 0) {
        s->code = EIO;
        snprintf(s->message, sizeof s->message, "libpng: %s", message);
    }
    png_longjmp(png, 1);
}

static void cpng_on_warning(png_structp png, png_const_charp message) {
    (void)png;
    (void)message;
}

static void cpng_on_write(png_structp png, png_bytep data, size_t length) {
    struct cpng_state *s = png_get_io_ptr(png);
    errno = 0;
    if (fwrite(data, 1, length, s->fp) != length) {
        cpng_fail(s, errno, "write");
        png_error(png, "write failed");
    }
}

static void cpng_on_flush(png_structp png) {
    struct cpng_state *s = png_get_io_ptr(png);
    if (fflush(s->fp) != 0) {
        cpng_fail(s, errno, "flush");
        png_error(png, "flush failed");
    }
}

static int cpng_report(const struct cpng_state *s, char *err, size_t errlen) {
    if (errlen > 0) snprintf(err, errlen, "%s", s->code ? s->message : "");
    return s->code;
}

int cpng_write_xrgb(const char *path, const void *pixels, uint32_t width, uint32_t height,
                    uint32_t stride, int level, int filters, unsigned flags,
                    char *err, size_t errlen) {
    struct cpng_state s = { .fp = NULL, .code = 0, .message = "" };
    if (width == 0 || height == 0 || stride < (uint64_t)width * 4 || pixels == NULL || path == NULL) {
        s.code = EINVAL;
        snprintf(s.message, sizeof s.message, "invalid image: %ux%u stride %u", width, height, stride);
        return cpng_report(&s, err, errlen);
    }

    s.fp = fopen(path, "wb");
    if (s.fp == NULL) {
        cpng_fail(&s, errno, "create");
        return cpng_report(&s, err, errlen);
    }

    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &s, cpng_on_error, cpng_on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (png == NULL || info == NULL) {
        png_destroy_write_struct(&png, &info);
        fclose(s.fp);
        cpng_fail(&s, ENOMEM, "libpng setup");
        return cpng_report(&s, err, errlen);
    }
    // Nothing below changes a local that is read after the longjmp lands here.
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        fclose(s.fp);
        return cpng_report(&s, err, errlen);
    }

    png_set_write_fn(png, &s, cpng_on_write, cpng_on_flush);
    png_set_IHDR(png, info, width, height, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_set_compression_level(png, level);
    png_set_filter(png, PNG_FILTER_TYPE_BASE, filters);
    png_write_info(png, info);
    // Memory holds B,G,R,X per pixel: swap to R,G,B and strip the filler byte.
    png_set_bgr(png);
    png_set_filler(png, 0, PNG_FILLER_AFTER);
    const unsigned char *row = pixels;
    for (uint32_t y = 0; y < height; y++, row += stride) {
        png_write_row(png, row);
    }
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);

    // Buffered bytes reach the kernel here; ENOSPC may first show up now or at close.
    if (fflush(s.fp) != 0) cpng_fail(&s, errno, "flush");
    if (s.code == 0 && (flags & CPNG_SYNC) && fsync(fileno(s.fp)) != 0) cpng_fail(&s, errno, "fsync");
    if (fclose(s.fp) != 0) cpng_fail(&s, errno, "close");
    return cpng_report(&s, err, errlen);
}
