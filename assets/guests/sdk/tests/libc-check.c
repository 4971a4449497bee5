/*
 * The C guest SDK's library checked from inside a guest (Tests/RingsideCLITests/CGuestSDKTests
 * builds it with ringside-cc and runs it): each failing check prints one line; the last line
 * is "libc-check: N checks, F failed" and the exit status is F (ringside exits with 2F + 1).
 * Run with --module FILE=check.txt holding "first line\nsecond line\n" and --args "key=value".
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ringside.h>

const char rs_program_name[] = "libc-check";
static int checks, failures;

static void check(int ok, const char *what, int line) {
    checks++;
    if (!ok) { failures++; printf("libc-check: FAILED line %d: %s\n", line, what); }
}
#define CHECK(e) check((e), #e, __LINE__)

static void check_format(const char *want, const char *got, int line) {
    checks++;
    if (strcmp(want, got)) { failures++; printf("libc-check: FAILED line %d: want \"%s\", got \"%s\"\n", line, want, got); }
}
#define FMT(want, ...) do { char b_[128]; snprintf(b_, sizeof b_, __VA_ARGS__); check_format(want, b_, __LINE__); } while (0)

static void formatting(void) {
    FMT("42|   42|42   |00042|+42| 42", "%d|%5d|%-5d|%05d|%+d|% d", 42, 42, 42, 42, 42, 42);
    FMT("-7 4294967289 fff9 FFF9 0xff 17 021", "%i %u %hx %hX %#x %o %#o", -7, -7u, (short)-7, (short)-7, 255, 15, 17);
    FMT("-9223372036854775807 18446744073709551615", "%ld %lu", -9223372036854775807L, 18446744073709551615UL);
    FMT("-1234567890123 1234567890123", "%lld %llu", -1234567890123LL, 1234567890123ULL);
    FMT("abc|       abc|abc       |ab|x|%", "%s|%10s|%-10s|%.2s|%c|%%", "abc", "abc", "abc", "abc", 'x');
    FMT("0x1234", "%p", (void *)0x1234);
    FMT("  0042|0042  ", "%6.4d|%-6.4d", 42, 42);
    FMT("3.141590 3.14 -3.142 2", "%f %.2f %6.3f %.0f", 3.14159, 3.14159, -3.14159, 1.5);
    FMT("1.234568e+04 1.2E-05", "%e %.1E", 12345.678, 0.0000123);
    FMT("0.0001 1.23457e+08 100 0.5", "%g %g %g %g", 0.0001, 123456789.0, 100.0, 0.5);
    FMT("inf -inf nan", "%f %f %f", HUGE_VAL, -HUGE_VAL, (double)NAN);
    FMT("44", "%hhd", 300);
    FMT("  3.5", "%*.*f", 5, 1, 3.5);
    char small[8];
    CHECK(snprintf(small, sizeof small, "%s", "truncated text") == 14 && !strcmp(small, "truncat"));
}

static void scanning(void) {
    unsigned x = 0, o = 0;
    int d = 0, i1 = 0, i2 = 0, i3 = 0;
    char word[16] = "";
    CHECK(sscanf("1F 017 -42 abc", "%x %o %d %15s", &x, &o, &d, word) == 4);
    CHECK(x == 0x1F && o == 15 && d == -42 && !strcmp(word, "abc"));
    CHECK(sscanf("0x10 010 -9", "%i %i %i", &i1, &i2, &i3) == 3 && i1 == 16 && i2 == 8 && i3 == -9);
    CHECK(sscanf("7 8", "%*d %d", &d) == 1 && d == 8);
    CHECK(sscanf("abc", "%d", &d) == 0);
    CHECK(sscanf("", "%d", &d) == EOF);
    long l = 0;
    CHECK(sscanf("width=640", "width=%ld", &l) == 1 && l == 640);
}

static void numbers(void) {
    char *end;
    CHECK(strtol("  -123xyz", &end, 10) == -123 && !strcmp(end, "xyz"));
    CHECK(strtoul("0x7fffffff", NULL, 0) == 0x7fffffff);
    CHECK(strtol("0777", NULL, 0) == 511);
    CHECK(atoi("42") == 42 && abs(-5) == 5);
    CHECK(atof("3.5e2") == 350.0 && atof("-0.25") == -0.25);
    CHECK(strtoll("9223372036854775808", NULL, 10) == 9223372036854775807LL && errno == ERANGE);
}

static void strings(void) {
    char buf[32] = "0123456789";
    memmove(buf + 2, buf, 8);
    CHECK(!memcmp(buf, "0101234567", 10));
    memmove(buf, buf + 2, 8);
    CHECK(!memcmp(buf, "0123456767", 10));
    CHECK(strcmp("abc", "abd") < 0 && strncmp("abcX", "abcY", 3) == 0);
    CHECK(strcasecmp("DOOM", "doom") == 0 && strncasecmp("Freedoom", "FREEDOOM2", 8) == 0);
    CHECK(!strcmp(strstr("freedoom1.wad", "doom"), "doom1.wad") && !strcmp(strrchr("a/b/c", '/'), "/c"));
    char *copy = strdup("one two  three");
    CHECK(!strcmp(strtok(copy, " "), "one") && !strcmp(strtok(NULL, " "), "two") && !strcmp(strtok(NULL, " "), "three") && !strtok(NULL, " "));
    free(copy);
    CHECK(toupper('q') == 'Q' && isspace('\t') && !isdigit('x') && isxdigit('F'));
    CHECK(strlen("") == 0 && strspn("aab", "a") == 2 && strcspn("abc", "c") == 2);
}

static void memory(void) {
    enum { N = 200 };
    unsigned char *blocks[N];
    for (int i = 0; i < N; i++) {
        size_t size = (size_t)(i * 37 % 5000) + 1;
        blocks[i] = malloc(size);
        if (!blocks[i]) { CHECK(!"malloc returned NULL"); return; }
        memset(blocks[i], i & 0xFF, size);
        CHECK(((uintptr_t)blocks[i] & 15) == 0 || !"16-byte aligned");
    }
    for (int i = 0; i < N; i += 2) free(blocks[i]);
    for (int i = 1; i < N; i += 2) {
        size_t size = (size_t)(i * 37 % 5000) + 1, k;
        for (k = 0; k < size && blocks[i][k] == (i & 0xFF); k++) {}
        checks++;
        if (k != size) { failures++; printf("libc-check: FAILED: block %d overwritten at %zu\n", i, k); }
        blocks[i] = realloc(blocks[i], size + 10000);
        CHECK(blocks[i] && blocks[i][size - 1] == (i & 0xFF));
        free(blocks[i]);
    }
    int *zeros = calloc(1000, sizeof *zeros);
    int sum = 0;
    for (int i = 0; i < 1000; i++) sum |= zeros[i];
    CHECK(zeros && sum == 0);
    free(zeros);
    void *aligned = aligned_alloc(4096, 100);
    CHECK(aligned && ((uintptr_t)aligned & 4095) == 0);
    free(aligned);
    /* everything freed coalesces: most of the heap comes back as one block */
    size_t big = (size_t)(rs_boot_info()->heap_size * 9 / 10);
    void *most = malloc(big);
    CHECK(most != NULL);
    free(most);
    CHECK(malloc((size_t)rs_boot_info()->heap_size + 1) == NULL && errno == ENOMEM);
}

static void maths(void) {
    CHECK(fabs(sqrt(2.0) - 1.41421356237309505) < 1e-15);
    CHECK(fabs(sin(M_PI / 6) - 0.5) < 1e-12 && fabs(cos(M_PI) + 1) < 1e-12 && fabs(sin(100.0) - (-0.50636564110975879)) < 1e-9);
    CHECK(floor(-1.5) == -2 && ceil(-1.5) == -1 && trunc(2.7) == 2 && round(2.5) == 3);
    CHECK(fmod(7.0, 3.0) == 1.0 && fmod(-7.0, 3.0) == -1.0);
    CHECK(pow(2, 10) == 1024 && fabs(pow(2, 0.5) - sqrt(2.0)) < 1e-12);
    CHECK(fabs(exp(1.0) - 2.718281828459045) < 1e-12 && fabs(log(2.718281828459045) - 1) < 1e-12);
}

static void files(void) {
    FILE *f = fopen("check.txt", "rb");
    CHECK(f != NULL);
    if (!f) return;
    char line[32];
    CHECK(fgets(line, sizeof line, f) && !strcmp(line, "first line\n"));
    CHECK(ftell(f) == 11);
    CHECK(fseek(f, 0, SEEK_END) == 0 && ftell(f) == 23);
    CHECK(fseek(f, -5, SEEK_CUR) == 0 && fread(line, 1, 10, f) == 5 && !memcmp(line, "line\n", 5) && feof(f));
    rewind(f);
    CHECK(fgetc(f) == 'f' && ungetc('F', f) == 'F' && fgetc(f) == 'F');
    CHECK(fclose(f) == 0);
    FILE *by_path = fopen("/anywhere/check.txt", "r");
    CHECK(by_path != NULL);
    if (by_path) fclose(by_path);
    errno = 0;
    CHECK(fopen("check.txt", "w") == NULL && errno == EROFS);
    CHECK(fopen("check.txt", "r+") == NULL && errno == EROFS);
    CHECK(fopen("missing.txt", "r") == NULL && errno == ENOENT);
    const struct rs_module *m = rs_module_find("check.txt");
    CHECK(m && m->size == 23 && !memcmp((const void *)(uintptr_t)m->gpa, "first", 5) && (m->gpa & 4095) == 0);
}

static void ringside_calls(void) {
    const char *v = rs_arg("key");
    CHECK(v && !strcmp(v, "value"));
    CHECK(rs_arg("nokey") == NULL && rs_arg("ke") == NULL);
    struct rs_input_event e;
    CHECK(rs_input_next(&e) == 0);
    CHECK(rs_frame_done() == 1 && rs_frame_done() == 2 && rs_frames() == 2);
    uint32_t w, h;
    rs_max_mode(&w, &h);
    CHECK(w >= rs_width() && h >= rs_height());
    CHECK(rs_set_mode(320, 240) == 0 && rs_width() == 320 && rs_height() == 240 && rs_stride() >= 320);
    CHECK(rs_set_mode(1, 1) == -1 && rs_width() == 320);
    /* The cursor plane: a 2x1 shape, then a position; bad sizes are refused. */
    static const uint32_t shape[2] = { 0xFF000000u, 0x80FFFFFFu };
    const volatile struct rs_cursor *c = (const volatile struct rs_cursor *)(uintptr_t)rs_boot_info()->cursor_gpa;
    CHECK(rs_cursor_available() && rs_cursor_set_shape(shape, 2, 1, 1, 0) == 0 && rs_cursor_move(10, 20, 1) == 0);
    CHECK(c->width == 2 && c->height == 1 && c->hot_x == 1 && c->x == 10 && c->y == 20 && c->flags == RS_CURSOR_VISIBLE && (c->seq & 1) == 0);
    CHECK(rs_cursor_set_shape(shape, 65, 1, 0, 0) == -1 && rs_cursor_set_shape(shape, 2, 1, 2, 0) == -1);
}

int main(int argc, char **argv) {
    CHECK(argc == 3 && !strcmp(argv[0], "libc-check") && !strcmp(argv[1], "key=value") && !strcmp(argv[2], "other=1"));
    formatting();
    scanning();
    numbers();
    strings();
    memory();
    maths();
    files();
    ringside_calls();
    printf("libc-check: %d checks, %d failed\n", checks, failures);
    return failures;
}
