/* <math.h> of the Ringside C guest SDK: a minimal set (double and float), SSE2. */
#ifndef RS_MATH_H
#define RS_MATH_H
#ifdef __cplusplus
extern "C" {
#endif
#define M_PI 3.14159265358979323846
#define HUGE_VAL __builtin_huge_val()
#define INFINITY __builtin_inff()
#define NAN __builtin_nanf("")
#define isnan(x) __builtin_isnan(x)
#define isinf(x) __builtin_isinf(x)
#define isfinite(x) __builtin_isfinite(x)
#define signbit(x) __builtin_signbit(x)
double fabs(double x);
float fabsf(float x);
double sqrt(double x);
float sqrtf(float x);
double floor(double x);
float floorf(float x);
double ceil(double x);
float ceilf(float x);
double trunc(double x);
double round(double x);
double fmod(double x, double y);
double sin(double x);
double cos(double x);
float sinf(float x);
float cosf(float x);
double exp(double x);
double log(double x);
double pow(double x, double y);
#ifdef __cplusplus
}
#endif
#endif
