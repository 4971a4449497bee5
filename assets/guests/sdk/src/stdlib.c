/* <stdlib.h> apart from malloc: exit and friends, numbers from strings, sorting, rand. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"

extern const char rs_program_name[];

#define MAX_ATEXIT 32
static void (*handlers[MAX_ATEXIT])(void);
static int handler_count;

int atexit(void (*handler)(void)) {
    if (handler_count == MAX_ATEXIT) return -1;
    handlers[handler_count++] = handler;
    return 0;
}

void exit(int status) {
    while (handler_count > 0) handlers[--handler_count]();
    rs_stdio_flush_all();
    rs_exit(status);
}

void _Exit(int status) { rs_stdio_flush_all(); rs_exit(status); }

void abort(void) {
    rs_stdio_flush_all();
    fprintf(stderr, "%s: abort()\n", rs_program_name);
    rs_stdio_flush_all();
    rs_exit(134);
}

void __rs_assert_fail(const char *expr, const char *file, int line, const char *func) {
    fprintf(stderr, "%s: %s:%d: %s: assertion '%s' failed\n", rs_program_name, file, line, func, expr);
    abort();
}

/* There is no environment and no shell. */
char *getenv(const char *name) { (void)name; return NULL; }
int system(const char *command) { (void)command; errno = ENOSYS; return -1; }

int abs(int x) { return x < 0 ? -x : x; }
long labs(long x) { return x < 0 ? -x : x; }
long long llabs(long long x) { return x < 0 ? -x : x; }
div_t div(int a, int b) { div_t r = {a / b, a % b}; return r; }
ldiv_t ldiv(long a, long b) { ldiv_t r = {a / b, a % b}; return r; }

/* The digits of s in `base` (0: C's prefixes 0x and 0), with an optional sign; *negative set. */
static unsigned long long parse_unsigned(const char *s, char **end, int base, int *negative, int *overflow) {
    const char *p = s;
    while (isspace((unsigned char)*p)) p++;
    *negative = 0;
    *overflow = 0;
    if (*p == '+' || *p == '-') *negative = *p++ == '-';
    if ((base == 0 || base == 16) && p[0] == '0' && (p[1] | 0x20) == 'x' && isxdigit((unsigned char)p[2])) { p += 2; base = 16; }
    else if (base == 0) base = p[0] == '0' ? 8 : 10;
    unsigned long long v = 0;
    const char *first = p;
    for (;; p++) {
        int c = (unsigned char)*p, d = isdigit(c) ? c - '0' : isalpha(c) ? (c | 0x20) - 'a' + 10 : 99;
        if (d >= base) break;
        if (v > (ULLONG_MAX - (unsigned)d) / (unsigned)base) *overflow = 1;
        v = v * (unsigned)base + (unsigned)d;
    }
    if (end) *end = (char *)(p == first ? s : p);
    return v;
}

unsigned long long strtoull(const char *restrict s, char **restrict end, int base) {
    int negative, overflow;
    unsigned long long v = parse_unsigned(s, end, base, &negative, &overflow);
    if (overflow) { errno = ERANGE; return ULLONG_MAX; }
    return negative ? 0ULL - v : v;
}

long long strtoll(const char *restrict s, char **restrict end, int base) {
    int negative, overflow;
    unsigned long long v = parse_unsigned(s, end, base, &negative, &overflow);
    if (!negative && (overflow || v > (unsigned long long)LLONG_MAX)) { errno = ERANGE; return LLONG_MAX; }
    if (negative && (overflow || v > (unsigned long long)LLONG_MAX + 1)) { errno = ERANGE; return LLONG_MIN; }
    return negative ? (long long)(0ULL - v) : (long long)v;
}

unsigned long strtoul(const char *restrict s, char **restrict end, int base) { return strtoull(s, end, base); }
long strtol(const char *restrict s, char **restrict end, int base) { return strtoll(s, end, base); }
int atoi(const char *s) { return (int)strtol(s, NULL, 10); }
long atol(const char *s) { return strtol(s, NULL, 10); }
long long atoll(const char *s) { return strtoll(s, NULL, 10); }

/* Decimal floating point ([sign] digits [. digits] [e [sign] digits]), inf and nan; "minimal":
 * accumulates in a double, so the last digit of a long mantissa may be off. */
double strtod(const char *restrict s, char **restrict end) {
    const char *p = s;
    while (isspace((unsigned char)*p)) p++;
    int negative = 0;
    if (*p == '+' || *p == '-') negative = *p++ == '-';
    double v = 0;
    if (strncasecmp(p, "inf", 3) == 0) { v = __builtin_inf(); p += strncasecmp(p, "infinity", 8) == 0 ? 8 : 3; goto done; }
    if (strncasecmp(p, "nan", 3) == 0) { v = __builtin_nan(""); p += 3; goto done; }
    const char *first = p;
    int scale = 0;
    for (; isdigit((unsigned char)*p); p++) v = v * 10 + (*p - '0');
    if (*p == '.') for (p++; isdigit((unsigned char)*p); p++) { v = v * 10 + (*p - '0'); scale--; }
    if (p == first || (p == first + 1 && *first == '.')) { if (end) *end = (char *)s; return 0; }
    if ((*p | 0x20) == 'e') {
        char *after;
        long e = strtol(p + 1, &after, 10);
        if (after != p + 1 && !isspace((unsigned char)p[1])) { p = after; scale += e < -4000 ? -4000 : e > 4000 ? 4000 : (int)e; }
    }
    double ten = 10;
    for (int k = scale < 0 ? -scale : scale; k; k >>= 1, ten *= ten) {
        if (k & 1) v = scale < 0 ? v / ten : v * ten;
    }
done:
    if (end) *end = (char *)p;
    return negative ? -v : v;
}

float strtof(const char *restrict s, char **restrict end) { return (float)strtod(s, end); }
double atof(const char *s) { return strtod(s, NULL); }

static unsigned long long rand_state = 1;
void srand(unsigned seed) { rand_state = seed; }
int rand(void) {
    rand_state = rand_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (int)(rand_state >> 33);
}

static void swap_bytes(char *a, char *b, size_t n) {
    while (n--) { char t = *a; *a++ = *b; *b++ = t; }
}

/* Shell sort: no recursion (the stack is the image's) and no allocation. */
void qsort(void *base, size_t count, size_t size, int (*compare)(const void *, const void *)) {
    char *a = base;
    size_t gap = 1;
    while (gap < count / 3) gap = gap * 3 + 1;
    for (; gap > 0; gap /= 3) {
        for (size_t i = gap; i < count; i++) {
            for (size_t j = i; j >= gap && compare(a + (j - gap) * size, a + j * size) > 0; j -= gap) {
                swap_bytes(a + (j - gap) * size, a + j * size, size);
            }
        }
    }
}

void *bsearch(const void *key, const void *base, size_t count, size_t size, int (*compare)(const void *, const void *)) {
    const char *a = base;
    while (count > 0) {
        const char *mid = a + (count / 2) * size;
        int c = compare(key, mid);
        if (c == 0) return (void *)mid;
        if (c > 0) { a = mid + size; count -= count / 2 + 1; } else { count /= 2; }
    }
    return NULL;
}
