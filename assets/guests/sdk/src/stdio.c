/*
 * <stdio.h> streams. stdout and stderr buffer a line and write it to the debug console (port
 * 0xE9) at '\n', at fflush and at exit. Files are boot modules opened read only: their bytes
 * are read straight from guest RAM where the VMM loaded them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"

extern const char rs_program_name[];

int errno;

enum { KIND_CLOSED, KIND_CONSOLE, KIND_MODULE, KIND_NONE };

struct rs_file {
    int kind;
    int eof, error;
    int pushed_back;            /* ungetc: -1 when none */
    const unsigned char *bytes; /* a module's contents */
    size_t size, pos;
    char line[256];             /* a console stream's unwritten bytes */
    size_t used;
};

static struct rs_file console_out = {KIND_CONSOLE, 0, 0, -1, NULL, 0, 0, {0}, 0};
static struct rs_file console_err = {KIND_CONSOLE, 0, 0, -1, NULL, 0, 0, {0}, 0};
static struct rs_file no_input = {KIND_NONE, 1, 0, -1, NULL, 0, 0, {0}, 0};
FILE *const stdout = &console_out;
FILE *const stderr = &console_err;
FILE *const stdin = &no_input;

static struct rs_file files[FOPEN_MAX];

/* --- the console ------------------------------------------------------------------------- */

static void console_flush(FILE *f) {
    rs_console_write(f->line, f->used);
    f->used = 0;
}

static void console_put(void *context, const char *bytes, size_t count) {
    FILE *f = context;
    for (size_t i = 0; i < count; i++) {
        f->line[f->used++] = bytes[i];
        if (bytes[i] == '\n' || f->used == sizeof f->line) console_flush(f);
    }
}

void rs_stdio_flush_all(void) {
    console_flush(stdout);
    console_flush(stderr);
}

int fflush(FILE *stream) {
    if (!stream) { rs_stdio_flush_all(); return 0; }
    if (stream->kind == KIND_CONSOLE) console_flush(stream);
    return 0;
}

size_t fwrite(const void *restrict ptr, size_t size, size_t count, FILE *restrict stream) {
    if (stream->kind != KIND_CONSOLE) { stream->error = 1; errno = EBADF; return 0; }
    if (stream == stderr) console_flush(stdout); /* keep the order the program wrote in */
    console_put(stream, ptr, size * count);
    return count;
}

int fputc(int c, FILE *stream) { char b = (char)c; return fwrite(&b, 1, 1, stream) == 1 ? (unsigned char)c : EOF; }
int putc(int c, FILE *stream) { return fputc(c, stream); }
int putchar(int c) { return fputc(c, stdout); }
int fputs(const char *restrict s, FILE *restrict stream) { size_t n = strlen(s); return fwrite(s, 1, n, stream) == n || n == 0 ? 0 : EOF; }
int puts(const char *s) { return fputs(s, stdout) == EOF || putchar('\n') == EOF ? EOF : 0; }

int vfprintf(FILE *restrict stream, const char *restrict format, va_list args) {
    if (stream->kind != KIND_CONSOLE) { stream->error = 1; errno = EBADF; return -1; }
    if (stream == stderr) console_flush(stdout);
    return rs_format(console_put, stream, format, args);
}

int vprintf(const char *restrict format, va_list args) { return vfprintf(stdout, format, args); }

int printf(const char *restrict format, ...) {
    va_list ap; va_start(ap, format);
    int n = vfprintf(stdout, format, ap);
    va_end(ap);
    return n;
}

int fprintf(FILE *restrict stream, const char *restrict format, ...) {
    va_list ap; va_start(ap, format);
    int n = vfprintf(stream, format, ap);
    va_end(ap);
    return n;
}

void perror(const char *s) {
    if (s && *s) fprintf(stderr, "%s: %s\n", s, strerror(errno));
    else fprintf(stderr, "%s\n", strerror(errno));
}

/* --- strings ----------------------------------------------------------------------------- */

typedef struct { char *buf; size_t size, used; } string_out;

static void string_put(void *context, const char *bytes, size_t count) {
    string_out *s = context;
    if (s->used < s->size) {
        size_t room = s->size - 1 - s->used, n = count < room ? count : room;
        memcpy(s->buf + s->used, bytes, n);
    }
    s->used += count;
}

int vsnprintf(char *restrict buf, size_t size, const char *restrict format, va_list args) {
    string_out s = {buf, size, 0};
    int n = rs_format(string_put, &s, format, args);
    if (size) buf[s.used < size ? s.used : size - 1] = 0;
    return n;
}

int vsprintf(char *restrict buf, const char *restrict format, va_list args) { return vsnprintf(buf, (size_t)-1 >> 1, format, args); }

int snprintf(char *restrict buf, size_t size, const char *restrict format, ...) {
    va_list ap; va_start(ap, format);
    int n = vsnprintf(buf, size, format, ap);
    va_end(ap);
    return n;
}

int sprintf(char *restrict buf, const char *restrict format, ...) {
    va_list ap; va_start(ap, format);
    int n = vsprintf(buf, format, ap);
    va_end(ap);
    return n;
}

/* --- module files ------------------------------------------------------------------------ */

FILE *fopen(const char *restrict name, const char *restrict mode) {
    if (strpbrk(mode, "wa+")) { errno = EROFS; return NULL; }
    const struct rs_module *m = rs_module_find(name);
    if (!m) { errno = ENOENT; return NULL; }
    for (int i = 0; i < FOPEN_MAX; i++) {
        FILE *f = &files[i];
        if (f->kind != KIND_CLOSED) continue;
        memset(f, 0, sizeof *f);
        f->kind = KIND_MODULE;
        f->pushed_back = -1;
        f->bytes = (const unsigned char *)(uintptr_t)m->gpa;
        f->size = (size_t)m->size;
        return f;
    }
    errno = ENOMEM;
    return NULL;
}

int fclose(FILE *stream) {
    if (stream->kind == KIND_CONSOLE) { console_flush(stream); return 0; }
    if (stream->kind != KIND_MODULE) { errno = EBADF; return EOF; }
    stream->kind = KIND_CLOSED;
    return 0;
}

size_t fread(void *restrict ptr, size_t size, size_t count, FILE *restrict stream) {
    if (stream->kind != KIND_MODULE) { stream->error = 1; errno = EBADF; return 0; }
    if (size == 0 || count == 0) return 0;
    unsigned char *out = ptr;
    size_t want = size * count, got = 0;
    if (stream->pushed_back >= 0) { out[got++] = (unsigned char)stream->pushed_back; stream->pushed_back = -1; }
    size_t left = stream->pos < stream->size ? stream->size - stream->pos : 0;
    size_t n = want - got < left ? want - got : left;
    memcpy(out + got, stream->bytes + stream->pos, n);
    stream->pos += n;
    got += n;
    if (got < want) stream->eof = 1;
    return got / size;
}

int fseek(FILE *stream, long offset, int whence) {
    if (stream->kind != KIND_MODULE) { errno = ESPIPE; return -1; }
    long base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? (long)stream->pos : whence == SEEK_END ? (long)stream->size : -1;
    if (base < 0 || (offset < 0 && -offset > base)) { errno = EINVAL; return -1; }
    stream->pos = (size_t)(base + offset);
    stream->eof = 0;
    stream->pushed_back = -1;
    return 0;
}

long ftell(FILE *stream) {
    if (stream->kind != KIND_MODULE) { errno = ESPIPE; return -1; }
    return (long)stream->pos - (stream->pushed_back >= 0);
}

void rewind(FILE *stream) { fseek(stream, 0, SEEK_SET); stream->error = 0; }

int fgetc(FILE *stream) {
    unsigned char c;
    return fread(&c, 1, 1, stream) == 1 ? c : EOF;
}

int getc(FILE *stream) { return fgetc(stream); }

int ungetc(int c, FILE *stream) {
    if (c == EOF || stream->kind != KIND_MODULE || stream->pushed_back >= 0) return EOF;
    stream->pushed_back = (unsigned char)c;
    stream->eof = 0;
    return (unsigned char)c;
}

char *fgets(char *restrict buf, int size, FILE *restrict stream) {
    int n = 0;
    while (n < size - 1) {
        int c = fgetc(stream);
        if (c == EOF) break;
        buf[n++] = (char)c;
        if (c == '\n') break;
    }
    if (n == 0 || size <= 0) return NULL;
    buf[n] = 0;
    return buf;
}

int feof(FILE *stream) { return stream->eof; }
int ferror(FILE *stream) { return stream->error; }
void clearerr(FILE *stream) { stream->eof = stream->error = 0; }
int fileno(FILE *stream) { return stream == stdin ? 0 : stream == stdout ? 1 : stream == stderr ? 2 : 3 + (int)(stream - files); }
int remove(const char *name) { (void)name; errno = EROFS; return -1; }
int rename(const char *from, const char *to) { (void)from; (void)to; errno = EROFS; return -1; }
