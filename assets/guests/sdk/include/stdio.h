/*
 * <stdio.h> of the Ringside C guest SDK. stdout and stderr go to the debug console (port
 * 0xE9) a line at a time. Files are the boot modules, read only: fopen(NAME, "r"/"rb")
 * opens the module called NAME (or the last component of a path NAME); any mode that writes
 * fails with errno = EROFS, a missing module with ENOENT.
 */
#ifndef RS_STDIO_H
#define RS_STDIO_H
#include <stdarg.h>
#include <stddef.h>
#ifdef __cplusplus
extern "C" {
#endif
typedef struct rs_file FILE;
typedef long fpos_t;
extern FILE *const stdin;
extern FILE *const stdout;
extern FILE *const stderr;
#define stdin stdin
#define stdout stdout
#define stderr stderr
#define EOF (-1)
#define SEEK_SET 0
#define SEEK_CUR 1
#define SEEK_END 2
#define BUFSIZ 1024
#define FILENAME_MAX 4096
#define FOPEN_MAX 16

int printf(const char *restrict format, ...) __attribute__((format(printf, 1, 2)));
int fprintf(FILE *restrict stream, const char *restrict format, ...) __attribute__((format(printf, 2, 3)));
int sprintf(char *restrict buf, const char *restrict format, ...) __attribute__((format(printf, 2, 3)));
int snprintf(char *restrict buf, size_t size, const char *restrict format, ...) __attribute__((format(printf, 3, 4)));
int vprintf(const char *restrict format, va_list args);
int vfprintf(FILE *restrict stream, const char *restrict format, va_list args);
int vsprintf(char *restrict buf, const char *restrict format, va_list args);
int vsnprintf(char *restrict buf, size_t size, const char *restrict format, va_list args);
int sscanf(const char *restrict str, const char *restrict format, ...) __attribute__((format(scanf, 2, 3)));
int vsscanf(const char *restrict str, const char *restrict format, va_list args);

int putchar(int c);
int puts(const char *s);
int fputc(int c, FILE *stream);
int putc(int c, FILE *stream);
int fputs(const char *restrict s, FILE *restrict stream);
size_t fwrite(const void *restrict ptr, size_t size, size_t count, FILE *restrict stream);
int fflush(FILE *stream);

FILE *fopen(const char *restrict name, const char *restrict mode);
int fclose(FILE *stream);
size_t fread(void *restrict ptr, size_t size, size_t count, FILE *restrict stream);
int fseek(FILE *stream, long offset, int whence);
long ftell(FILE *stream);
void rewind(FILE *stream);
int fgetc(FILE *stream);
int getc(FILE *stream);
char *fgets(char *restrict buf, int size, FILE *restrict stream);
int ungetc(int c, FILE *stream);
int feof(FILE *stream);
int ferror(FILE *stream);
void clearerr(FILE *stream);
int fileno(FILE *stream);
int remove(const char *name);
int rename(const char *from, const char *to);
void perror(const char *s);
#ifdef __cplusplus
}
#endif
#endif
