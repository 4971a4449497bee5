/* sscanf: conversions d i u o x X s c n and %%, with * (no assignment), a width and the
 * length modifiers hh h l ll z j. No floating point and no [sets]. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void store(va_list *ap, int length, unsigned long long v) {
    switch (length) {
    case 'H': *va_arg(*ap, char *) = (char)v; break;
    case 'h': *va_arg(*ap, short *) = (short)v; break;
    case 'l': *va_arg(*ap, long *) = (long)v; break;
    case 'q': *va_arg(*ap, long long *) = (long long)v; break;
    default: *va_arg(*ap, int *) = (int)v; break;
    }
}

/* An integer of at most `width` characters (0: any) in `base` (0: C prefixes). */
static int scan_integer(const char **s, int width, int base, unsigned long long *v) {
    char digits[72];
    const char *p = *s;
    size_t limit = width > 0 && width < (int)sizeof digits ? (size_t)width : sizeof digits - 1;
    size_t n = 0;
    while (n < limit && p[n]) n++;
    memcpy(digits, p, n);
    digits[n] = 0;
    char *end;
    *v = strtoull(digits, &end, base);
    if (end == digits) return 0;
    *s = p + (end - digits);
    return 1;
}

int vsscanf(const char *restrict str, const char *restrict format, va_list args) {
    va_list ap;
    va_copy(ap, args);
    const char *s = str, *f = format;
    int assigned = 0, converted = 0;
    while (*f) {
        if (isspace((unsigned char)*f)) {
            while (isspace((unsigned char)*f)) f++;
            while (isspace((unsigned char)*s)) s++;
            continue;
        }
        if (*f != '%' || f[1] == '%') {
            if (*f == '%') f++;
            if (*s != *f) break;
            s++; f++;
            continue;
        }
        f++;
        int suppress = *f == '*';
        if (suppress) f++;
        int width = 0;
        while (isdigit((unsigned char)*f)) width = width * 10 + (*f++ - '0');
        int length = 0;
        if (*f == 'h') { f++; length = 'h'; if (*f == 'h') { f++; length = 'H'; } }
        else if (*f == 'l') { f++; length = 'l'; if (*f == 'l') { f++; length = 'q'; } }
        else if (*f == 'z' || *f == 'j' || *f == 't') { f++; length = 'q'; }
        char conv = *f++;
        if (conv == 'n') { if (!suppress) store(&ap, length, (unsigned long long)(s - str)); continue; }
        if (conv != 'c') while (isspace((unsigned char)*s)) s++;
        if (!*s) { va_end(ap); return converted == 0 ? EOF : assigned; }
        if (conv == 's' || conv == 'c') {
            int limit = width > 0 ? width : conv == 'c' ? 1 : 0x7fffffff, n = 0;
            char *out = suppress ? NULL : va_arg(ap, char *);
            while (n < limit && s[n] && (conv == 'c' || !isspace((unsigned char)s[n]))) { if (out) out[n] = s[n]; n++; }
            if (conv == 'c' && n < limit) break;
            if (out && conv == 's') out[n] = 0;
            s += n;
        } else {
            int base = conv == 'd' || conv == 'u' ? 10 : conv == 'o' ? 8 : conv == 'x' || conv == 'X' ? 16 : conv == 'i' ? 0 : -1;
            if (base < 0) break;
            unsigned long long v;
            if (!scan_integer(&s, width, base, &v)) break;
            if (!suppress) store(&ap, length, v);
        }
        converted++;
        if (!suppress) assigned++;
    }
    va_end(ap);
    return assigned;
}

int sscanf(const char *restrict str, const char *restrict format, ...) {
    va_list ap;
    va_start(ap, format);
    int n = vsscanf(str, format, ap);
    va_end(ap);
    return n;
}
