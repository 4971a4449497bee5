// libjpeg-turbo for Tight's JpegCompression. libjpeg reports errors by calling error_exit,
// which by default exits the process: here it longjmps back to the call, which returns -1.
#include "crfb.h"
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>
#include <jerror.h>

struct crfb_error {
    struct jpeg_error_mgr mgr;
    jmp_buf jump;
};

static void crfb_error_exit(j_common_ptr cinfo) {
    struct crfb_error *e = (struct crfb_error *)cinfo->err;
    longjmp(e->jump, 1);
}

static void crfb_output_message(j_common_ptr cinfo) { (void)cinfo; } // warnings stay quiet

struct crfb_jpeg {
    struct jpeg_compress_struct c;
    struct crfb_error err;
    struct jpeg_destination_mgr dest;
    uint8_t *buf;
    size_t cap;
};

static void dest_init(j_compress_ptr c) {
    crfb_jpeg *j = (crfb_jpeg *)c->client_data;
    j->dest.next_output_byte = j->buf;
    j->dest.free_in_buffer = j->cap;
}

static boolean dest_empty(j_compress_ptr c) {
    crfb_jpeg *j = (crfb_jpeg *)c->client_data;
    size_t used = j->cap;
    uint8_t *bigger = realloc(j->buf, j->cap * 2);
    if (!bigger) ERREXIT(c, JERR_OUT_OF_MEMORY);
    j->buf = bigger;
    j->cap *= 2;
    j->dest.next_output_byte = j->buf + used;
    j->dest.free_in_buffer = j->cap - used;
    return TRUE;
}

static void dest_term(j_compress_ptr c) { (void)c; }

crfb_jpeg *crfb_jpeg_new(void) {
    crfb_jpeg *j = calloc(1, sizeof *j);
    if (!j) return NULL;
    j->cap = 64 * 1024;
    j->buf = malloc(j->cap);
    if (!j->buf) { free(j); return NULL; }
    j->c.err = jpeg_std_error(&j->err.mgr);
    j->err.mgr.error_exit = crfb_error_exit;
    j->err.mgr.output_message = crfb_output_message;
    if (setjmp(j->err.jump)) {
        jpeg_destroy_compress(&j->c);
        free(j->buf);
        free(j);
        return NULL;
    }
    jpeg_create_compress(&j->c);
    j->c.client_data = j;
    j->dest.init_destination = dest_init;
    j->dest.empty_output_buffer = dest_empty;
    j->dest.term_destination = dest_term;
    j->c.dest = &j->dest;
    return j;
}

void crfb_jpeg_free(crfb_jpeg *j) {
    if (!j) return;
    jpeg_destroy_compress(&j->c);
    free(j->buf);
    free(j);
}

long crfb_jpeg_compress(crfb_jpeg *j, const void *bgrx, int width, int height, size_t pitch,
                        int quality, int subsampling, const uint8_t **out) {
    struct jpeg_compress_struct *c = &j->c;
    if (width <= 0 || height <= 0 || width > JPEG_MAX_DIMENSION || height > JPEG_MAX_DIMENSION) return -1;
    if (setjmp(j->err.jump)) {
        jpeg_abort_compress(c);
        return -1;
    }
    c->image_width = (JDIMENSION)width;
    c->image_height = (JDIMENSION)height;
    c->input_components = 4;
    c->in_color_space = JCS_EXT_BGRX;
    jpeg_set_defaults(c);
    jpeg_set_quality(c, quality < 1 ? 1 : quality > 100 ? 100 : quality, TRUE);
    c->dct_method = JDCT_FASTEST;
    if (subsampling == CRFB_SUBSAMP_GRAY) {
        jpeg_set_colorspace(c, JCS_GRAYSCALE);
    } else {
        int h = subsampling == CRFB_SUBSAMP_NONE ? 1 : 2;
        int v = subsampling == CRFB_SUBSAMP_420 ? 2 : 1;
        c->comp_info[0].h_samp_factor = h;
        c->comp_info[0].v_samp_factor = v;
        c->comp_info[1].h_samp_factor = c->comp_info[1].v_samp_factor = 1;
        c->comp_info[2].h_samp_factor = c->comp_info[2].v_samp_factor = 1;
    }
    jpeg_start_compress(c, TRUE);
    while (c->next_scanline < c->image_height) {
        JSAMPROW row = (JSAMPROW)((const uint8_t *)bgrx + (size_t)c->next_scanline * pitch);
        jpeg_write_scanlines(c, &row, 1);
    }
    jpeg_finish_compress(c);
    *out = j->buf;
    return (long)(j->cap - j->dest.free_in_buffer);
}

int crfb_jpeg_decompress(const uint8_t *data, size_t len, uint8_t *rgb, int width, int height) {
    struct jpeg_decompress_struct d;
    struct crfb_error err;
    d.err = jpeg_std_error(&err.mgr);
    err.mgr.error_exit = crfb_error_exit;
    err.mgr.output_message = crfb_output_message;
    if (setjmp(err.jump)) {
        jpeg_destroy_decompress(&d);
        return -1;
    }
    jpeg_create_decompress(&d);
    jpeg_mem_src(&d, data, (unsigned long)len);
    jpeg_read_header(&d, TRUE);
    d.out_color_space = JCS_RGB;
    jpeg_start_decompress(&d);
    if ((int)d.output_width != width || (int)d.output_height != height || d.output_components != 3) {
        jpeg_destroy_decompress(&d);
        return -1;
    }
    while (d.output_scanline < d.output_height) {
        JSAMPROW row = rgb + (size_t)d.output_scanline * (size_t)width * 3;
        jpeg_read_scanlines(&d, &row, 1);
    }
    jpeg_finish_decompress(&d);
    jpeg_destroy_decompress(&d);
    return 0;
}
