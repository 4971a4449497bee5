/*
 * The printf family's formatting core. Conversions: d i u o x X c s p % f F e E g G, with
 * flags (- + space # 0), width and precision (numbers or *), and the length modifiers hh h l
 * ll z j t L. Floating point is "minimal": correct to about 15 significant digits, values of
 * 1e18 and more as %e; %Lf reads a long double but prints it as a double. %n is not
 * supported (it prints nothing and stores nothing).
 */
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include "internal.h"

typedef struct {
    rs_put_fn put;
    void *context;
    int count;
} out_t;

typedef struct {
    int left, plus, space, alt, zero;
    int width, precision; /* precision -1: none given */
} spec_t;

static void emit(out_t *o, const char *s, size_t n) {
    if (n) o->put(o->context, s, n);
    o->count += (int)n;
}

static void repeat(out_t *o, char c, int n) {
    char chunk[32];
    memset(chunk, c, sizeof chunk);
    while (n > 0) { int k = n > 32 ? 32 : n; emit(o, chunk, (size_t)k); n -= k; }
}

/* prefix (sign, 0x), zeros, body, padded to the width as the flags say */
static void field(out_t *o, const spec_t *sp, const char *prefix, int zeros, const char *body, int len) {
    int plen = (int)strlen(prefix), total = plen + zeros + len;
    int pad = sp->width > total ? sp->width - total : 0;
    if (!sp->left && !sp->zero) repeat(o, ' ', pad);
    emit(o, prefix, (size_t)plen);
    if (!sp->left && sp->zero) repeat(o, '0', pad);
    repeat(o, '0', zeros);
    emit(o, body, (size_t)len);
    if (sp->left) repeat(o, ' ', pad);
}

static int digits(char *end, unsigned long long v, unsigned base, int upper) {
    const char *set = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char *p = end;
    do { *--p = set[v % base]; v /= base; } while (v);
    return (int)(end - p);
}

static void integer(out_t *o, spec_t sp, unsigned long long v, int negative, char conv) {
    char buf[24], *end = buf + sizeof buf;
    unsigned base = conv == 'o' ? 8 : (conv == 'x' || conv == 'X' || conv == 'p') ? 16 : 10;
    int len = (sp.precision == 0 && v == 0) ? 0 : digits(end, v, base, conv == 'X');
    const char *prefix = "";
    if (conv == 'd' || conv == 'i') prefix = negative ? "-" : sp.plus ? "+" : sp.space ? " " : "";
    else if ((sp.alt && v && (conv == 'x' || conv == 'X')) || conv == 'p') prefix = conv == 'X' ? "0X" : "0x";
    int zeros = sp.precision > len ? sp.precision - len : 0;
    if (conv == 'o' && sp.alt && zeros == 0 && (len == 0 || end[-len] != '0')) zeros = 1;
    if (sp.precision >= 0) sp.zero = 0;
    field(o, &sp, prefix, zeros, end - len, len);
}

/* Writes x (finite, >= 0) with `frac` decimals into buf; returns the length. */
static int fixed(char *buf, double x, int frac) {
    static const double pow10[] = {1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17};
    int shown = frac > 17 ? 17 : frac;
    unsigned long long ip = (unsigned long long)x;
    double scaled = (x - (double)ip) * pow10[shown] + 0.5;
    unsigned long long fp = (unsigned long long)scaled;
    if ((double)fp >= pow10[shown]) { ip++; fp -= (unsigned long long)pow10[shown]; }
    char tmp[24], *end = tmp + sizeof tmp;
    int n = digits(end, ip, 10, 0);
    memcpy(buf, end - n, (size_t)n);
    if (frac > 0) {
        buf[n++] = '.';
        int m = digits(end, fp, 10, 0);
        for (int i = m; i < shown; i++) buf[n++] = '0';
        memcpy(buf + n, end - m, (size_t)m);
        n += m;
        for (int i = shown; i < frac; i++) buf[n++] = '0';
    }
    return n;
}

/* x = m * 10^e with 1 <= m < 10 (x > 0, finite). */
static double normalize(double x, int *e) {
    int k = 0;
    while (x >= 1e32) { x /= 1e32; k += 32; }
    while (x >= 10) { x /= 10; k++; }
    while (x < 1e-32) { x *= 1e32; k -= 32; }
    while (x < 1) { x *= 10; k--; }
    *e = k;
    return x;
}

static int exponential(char *buf, double x, int frac, char e_char) {
    int e = 0;
    double m = x > 0 ? normalize(x, &e) : 0;
    int n = fixed(buf, m, frac);
    if (buf[0] == '1' && buf[1] == '0') { /* rounding carried to 10.xxx */
        n = fixed(buf, m / 10, frac);
        e++;
    }
    buf[n++] = e_char;
    buf[n++] = e < 0 ? '-' : '+';
    if (e < 0) e = -e;
    char tmp[8], *end = tmp + sizeof tmp;
    int d = digits(end, (unsigned long long)e, 10, 0);
    if (d < 2) buf[n++] = '0';
    memcpy(buf + n, end - d, (size_t)d);
    return n + d;
}

static int strip_zeros(char *buf, int n) {
    char *dot = memchr(buf, '.', (size_t)n);
    if (!dot) return n;
    char *e = memchr(buf, 'e', (size_t)n);
    if (!e) e = memchr(buf, 'E', (size_t)n);
    int tail_start = e ? (int)(e - buf) : n, k = tail_start;
    while (k > 0 && buf[k - 1] == '0') k--;
    if (buf[k - 1] == '.') k--;
    memmove(buf + k, buf + tail_start, (size_t)(n - tail_start));
    return k + (n - tail_start);
}

/* The decimal exponent of x (> 0) once rounded to `sig` significant digits, as %e would show it. */
static int rounded_exponent(double x, int sig) {
    char probe[40];
    int n = exponential(probe, x, sig - 1 > 17 ? 17 : sig - 1, 'e'), i = n - 1, e = 0, scale = 1;
    while (probe[i] >= '0' && probe[i] <= '9') { e += (probe[i] - '0') * scale; scale *= 10; i--; }
    return probe[i] == '-' ? -e : e;
}

static void floating(out_t *o, spec_t sp, double x, char conv) {
    char buf[400];
    int negative = __builtin_signbit(x), upper = conv == 'F' || conv == 'E' || conv == 'G', n;
    if (negative) x = -x;
    const char *prefix = negative ? "-" : sp.plus ? "+" : sp.space ? " " : "";
    if (__builtin_isnan(x) || __builtin_isinf(x)) {
        sp.zero = 0;
        field(o, &sp, prefix, 0, __builtin_isnan(x) ? (upper ? "NAN" : "nan") : (upper ? "INF" : "inf"), 3);
        return;
    }
    int p = sp.precision < 0 ? 6 : sp.precision > 340 ? 340 : sp.precision;
    char lower = (char)(conv | 0x20);
    if (lower == 'f' && x < 1e18) {
        n = fixed(buf, x, p);
    } else if (lower == 'f' || lower == 'e') {
        n = exponential(buf, x, p, upper ? 'E' : 'e');
    } else {
        int P = p == 0 ? 1 : p, e = 0;
        if (x > 0) e = rounded_exponent(x, P);
        if (P > e && e >= -4 && x < 1e18) n = fixed(buf, x, P - 1 - e);
        else n = exponential(buf, x, P - 1, upper ? 'E' : 'e');
        if (!sp.alt) n = strip_zeros(buf, n);
    }
    if (sp.alt && !memchr(buf, '.', (size_t)n) && p == 0) buf[n++] = '.';
    field(o, &sp, prefix, 0, buf, n);
}

static int number_in(const char **f, va_list *args) {
    if (**f == '*') { (*f)++; return va_arg(*args, int); }
    int n = 0;
    while (**f >= '0' && **f <= '9') n = n * 10 + (*(*f)++ - '0');
    return n;
}

static unsigned long long unsigned_arg(va_list *args, int length) {
    switch (length) {
    case 'H': return (unsigned char)va_arg(*args, unsigned);
    case 'h': return (unsigned short)va_arg(*args, unsigned);
    case 'l': return va_arg(*args, unsigned long);
    case 'q': return va_arg(*args, unsigned long long);
    case 'z': return va_arg(*args, size_t);
    default: return va_arg(*args, unsigned);
    }
}

static long long signed_arg(va_list *args, int length) {
    switch (length) {
    case 'H': return (signed char)va_arg(*args, int);
    case 'h': return (short)va_arg(*args, int);
    case 'l': return va_arg(*args, long);
    case 'q': return va_arg(*args, long long);
    case 'z': return va_arg(*args, long);
    default: return va_arg(*args, int);
    }
}

/* One conversion starting after the '%'; returns where the format goes on. */
static const char *conversion(out_t *o, const char *f, va_list *args) {
    spec_t sp = {0, 0, 0, 0, 0, 0, -1};
    for (;; f++) {
        if (*f == '-') sp.left = 1;
        else if (*f == '+') sp.plus = 1;
        else if (*f == ' ') sp.space = 1;
        else if (*f == '#') sp.alt = 1;
        else if (*f == '0') sp.zero = 1;
        else break;
    }
    sp.width = number_in(&f, args);
    if (sp.width < 0) { sp.left = 1; sp.width = -sp.width; }
    if (*f == '.') { f++; sp.precision = number_in(&f, args); if (sp.precision < 0) sp.precision = -1; }
    if (sp.left) sp.zero = 0;
    int length = 0;
    if (*f == 'h') { f++; length = 'h'; if (*f == 'h') { f++; length = 'H'; } }
    else if (*f == 'l') { f++; length = 'l'; if (*f == 'l') { f++; length = 'q'; } }
    else if (*f == 'z' || *f == 't') { f++; length = 'z'; }
    else if (*f == 'j') { f++; length = 'q'; }
    else if (*f == 'L') { f++; length = 'L'; }
    char conv = *f;
    if (!conv) return f;
    switch (conv) {
    case 'd': case 'i': {
        long long v = signed_arg(args, length);
        integer(o, sp, v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v, v < 0, conv);
        break;
    }
    case 'u': case 'o': case 'x': case 'X': integer(o, sp, unsigned_arg(args, length), 0, conv); break;
    case 'p': sp.alt = 1; integer(o, sp, (uintptr_t)va_arg(*args, void *), 0, 'p'); break;
    case 'c': { char c = (char)va_arg(*args, int); sp.zero = 0; field(o, &sp, "", 0, &c, 1); break; }
    case 's': {
        const char *s = va_arg(*args, const char *);
        if (!s) s = "(null)";
        int n = (int)(sp.precision >= 0 ? strnlen(s, (size_t)sp.precision) : strlen(s));
        sp.zero = 0;
        field(o, &sp, "", 0, s, n);
        break;
    }
    case 'f': case 'F': case 'e': case 'E': case 'g': case 'G':
        floating(o, sp, length == 'L' ? (double)va_arg(*args, long double) : va_arg(*args, double), conv);
        break;
    case 'n': (void)va_arg(*args, void *); break;
    case '%': emit(o, "%", 1); break;
    default: emit(o, "%", 1); emit(o, f, 1); break; /* unknown: shown as written */
    }
    return f + 1;
}

int rs_format(rs_put_fn put, void *context, const char *format, va_list args) {
    out_t o = {put, context, 0};
    va_list ap;
    va_copy(ap, args);
    const char *f = format;
    while (*f) {
        const char *pct = strchr(f, '%');
        if (!pct) { emit(&o, f, strlen(f)); break; }
        emit(&o, f, (size_t)(pct - f));
        f = conversion(&o, pct + 1, &ap);
    }
    va_end(ap);
    return o.count;
}
