/* <math.h>, minimal: SSE2 square root and rounding, series for sin/cos/exp/log with range
 * reduction (about 15 significant digits), pow from them (exact for integer exponents). */
#include <math.h>

double fabs(double x) { return __builtin_fabs(x); }
float fabsf(float x) { return __builtin_fabsf(x); }
double sqrt(double x) { double r; __asm__("sqrtsd %1, %0" : "=x"(r) : "x"(x)); return r; }
float sqrtf(float x) { float r; __asm__("sqrtss %1, %0" : "=x"(r) : "x"(x)); return r; }

double trunc(double x) {
    if (!(fabs(x) < 4503599627370496.0)) return x; /* already an integer, inf or nan */
    return (double)(long long)x;
}

double floor(double x) { double t = trunc(x); return t > x ? t - 1 : t; }
double ceil(double x) { double t = trunc(x); return t < x ? t + 1 : t; }
float floorf(float x) { return (float)floor(x); }
float ceilf(float x) { return (float)ceil(x); }
double round(double x) { return x < 0 ? -floor(-x + 0.5) : floor(x + 0.5); }

double fmod(double x, double y) {
    if (y == 0 || isinf(x) || isnan(x) || isnan(y)) return __builtin_nan("");
    if (isinf(y)) return x;
    double q = trunc(x / y), r = x - q * y;
    /* for huge quotients x / y is inexact: fold the remainder back into range */
    while (fabs(r) >= fabs(y)) r -= trunc(r / y) * y;
    if (r != 0 && (r < 0) != (x < 0)) r += x < 0 ? -fabs(y) : fabs(y);
    return r;
}

/* sin and cos of r in [-pi/4, pi/4] */
static double sin_kernel(double r) {
    double r2 = r * r, term = r, sum = r;
    for (int k = 1; k < 12; k++) { term *= -r2 / ((2 * k) * (2 * k + 1)); sum += term; }
    return sum;
}

static double cos_kernel(double r) {
    double r2 = r * r, term = 1, sum = 1;
    for (int k = 1; k < 12; k++) { term *= -r2 / ((2 * k - 1) * (2 * k)); sum += term; }
    return sum;
}

/* x = k * pi/2 + r, |r| <= pi/4; returns k mod 4 */
static int reduce(double x, double *r) {
    const double half_pi_hi = 1.57079632673412561417, half_pi_lo = 6.07710050650619224932e-11;
    double k = round(x / (M_PI / 2));
    *r = (x - k * half_pi_hi) - k * half_pi_lo;
    return (int)((long long)fmod(k, 4) + 4) & 3;
}

double sin(double x) {
    if (isinf(x) || isnan(x)) return __builtin_nan("");
    double r;
    switch (reduce(x, &r)) {
    case 0: return sin_kernel(r);
    case 1: return cos_kernel(r);
    case 2: return -sin_kernel(r);
    default: return -cos_kernel(r);
    }
}

double cos(double x) {
    if (isinf(x) || isnan(x)) return __builtin_nan("");
    double r;
    switch (reduce(x, &r)) {
    case 0: return cos_kernel(r);
    case 1: return -sin_kernel(r);
    case 2: return -cos_kernel(r);
    default: return sin_kernel(r);
    }
}

float sinf(float x) { return (float)sin(x); }
float cosf(float x) { return (float)cos(x); }

double exp(double x) {
    if (isnan(x)) return x;
    if (x > 709.8) return HUGE_VAL;
    if (x < -745.2) return 0;
    const double ln2 = 0.69314718055994530942;
    double k = round(x / ln2), r = x - k * ln2, term = 1, sum = 1;
    for (int i = 1; i < 20; i++) { term *= r / i; sum += term; }
    /* scale by 2^k in two steps so that neither overflows early */
    long long half = (long long)k / 2;
    union { double d; unsigned long long u; } a = {0}, b = {0};
    a.u = (unsigned long long)(half + 1023) << 52;
    b.u = (unsigned long long)((long long)k - half + 1023) << 52;
    return sum * a.d * b.d;
}

double log(double x) {
    if (isnan(x) || x < 0) return __builtin_nan("");
    if (x == 0) return -HUGE_VAL;
    if (isinf(x)) return x;
    union { double d; unsigned long long u; } v = {x};
    int e = (int)((v.u >> 52) & 0x7FF) - 1023;
    if (e == -1023) { v.d = x * 4503599627370496.0; e = (int)((v.u >> 52) & 0x7FF) - 1023 - 52; } /* subnormal */
    v.u = (v.u & 0x000FFFFFFFFFFFFFULL) | 0x3FF0000000000000ULL;  /* m in [1, 2) */
    double m = v.d;
    if (m > 1.41421356237309504880) { m /= 2; e++; }
    double s = (m - 1) / (m + 1), s2 = s * s, term = s, sum = 0;
    for (int k = 1; k < 40; k += 2) { sum += term / k; term *= s2; }
    return 2 * sum + e * 0.69314718055994530942;
}

double pow(double x, double y) {
    if (y == 0) return 1;
    if (isnan(x) || isnan(y)) return __builtin_nan("");
    if (y == trunc(y) && fabs(y) < 1e15) {
        long long n = (long long)y;
        double base = n < 0 ? 1 / x : x, result = 1;
        for (unsigned long long k = n < 0 ? 0ULL - (unsigned long long)n : (unsigned long long)n; k; k >>= 1, base *= base) {
            if (k & 1) result *= base;
        }
        return result;
    }
    if (x < 0) return __builtin_nan("");
    if (x == 0) return y > 0 ? 0 : HUGE_VAL;
    return exp(y * log(x));
}
