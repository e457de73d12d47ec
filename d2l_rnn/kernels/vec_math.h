// Vectorised e^x, sigmoid and tanh for the kernels: 16 floats at a time with AVX-512, 8 with
// AVX2. The functions are written once, over fvec and the v* helpers, which map to the
// instructions of whichever of the two the compiler targets (D2L_RNN_VECTOR is then set).
#ifndef D2L_RNN_VEC_MATH_H_
#define D2L_RNN_VEC_MATH_H_
#if defined(__AVX512F__) || (defined(__AVX2__) && defined(__FMA__))
#include <immintrin.h>
#define D2L_RNN_VECTOR 1

namespace d2l {

#if defined(__AVX512F__)
using fvec = __m512;
using vmask = __mmask16;  // the lanes a partial load or store touches
constexpr int kLanes = 16;
inline fvec vset(float x) { return _mm512_set1_ps(x); }
inline fvec vzero() { return _mm512_setzero_ps(); }
inline fvec vadd(fvec a, fvec b) { return _mm512_add_ps(a, b); }
inline fvec vsub(fvec a, fvec b) { return _mm512_sub_ps(a, b); }
inline fvec vmul(fvec a, fvec b) { return _mm512_mul_ps(a, b); }
inline fvec vdiv(fvec a, fvec b) { return _mm512_div_ps(a, b); }
inline fvec vfmadd(fvec a, fvec b, fvec c) { return _mm512_fmadd_ps(a, b, c); }    // a b + c
inline fvec vfnmadd(fvec a, fvec b, fvec c) { return _mm512_fnmadd_ps(a, b, c); }  // c - a b
inline fvec vmin(fvec a, fvec b) { return _mm512_min_ps(a, b); }
inline fvec vmax(fvec a, fvec b) { return _mm512_max_ps(a, b); }
inline fvec vround(fvec x) {
  return _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}
inline fvec vabs(fvec x) { return _mm512_abs_ps(x); }
inline fvec vand(fvec a, fvec b) { return _mm512_and_ps(a, b); }
inline fvec vor(fvec a, fvec b) { return _mm512_or_ps(a, b); }
inline fvec vscale2(fvec p, fvec n) { return _mm512_scalef_ps(p, n); }  // p 2^n, n integral
// a < b ? x : y, lane by lane
inline fvec vselect_lt(fvec a, fvec b, fvec x, fvec y) {
  return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a, b, _CMP_LT_OQ), y, x);
}
inline fvec vloadu(const float* p) { return _mm512_loadu_ps(p); }
inline void vstoreu(float* p, fvec v) { _mm512_storeu_ps(p, v); }
inline vmask vlanes(int n) {  // the first n lanes
  return n >= 16 ? 0xFFFF : n <= 0 ? 0 : (__mmask16)((1u << n) - 1);
}
inline fvec vload(const float* p, vmask m) { return _mm512_maskz_loadu_ps(m, p); }
inline void vstore(float* p, vmask m, fvec v) { _mm512_mask_storeu_ps(p, m, v); }
#else
using fvec = __m256;
using vmask = __m256i;
constexpr int kLanes = 8;
inline fvec vset(float x) { return _mm256_set1_ps(x); }
inline fvec vzero() { return _mm256_setzero_ps(); }
inline fvec vadd(fvec a, fvec b) { return _mm256_add_ps(a, b); }
inline fvec vsub(fvec a, fvec b) { return _mm256_sub_ps(a, b); }
inline fvec vmul(fvec a, fvec b) { return _mm256_mul_ps(a, b); }
inline fvec vdiv(fvec a, fvec b) { return _mm256_div_ps(a, b); }
inline fvec vfmadd(fvec a, fvec b, fvec c) { return _mm256_fmadd_ps(a, b, c); }
inline fvec vfnmadd(fvec a, fvec b, fvec c) { return _mm256_fnmadd_ps(a, b, c); }
inline fvec vmin(fvec a, fvec b) { return _mm256_min_ps(a, b); }
inline fvec vmax(fvec a, fvec b) { return _mm256_max_ps(a, b); }
inline fvec vround(fvec x) {
  return _mm256_round_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}
inline fvec vabs(fvec x) { return _mm256_andnot_ps(_mm256_set1_ps(-0.f), x); }
inline fvec vand(fvec a, fvec b) { return _mm256_and_ps(a, b); }
inline fvec vor(fvec a, fvec b) { return _mm256_or_ps(a, b); }
// AVX2 has no scalef: 2^n is built in the exponent field, as two factors 2^(n/2) because
// e^x's clamped range needs n from -150 to 128, beyond a single normal float's exponent.
inline fvec vscale2(fvec p, fvec n) {
  const __m256i k = _mm256_cvtps_epi32(n), k1 = _mm256_srai_epi32(k, 1);
  const __m256i bias = _mm256_set1_epi32(127);
  const fvec f1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(k1, bias), 23));
  const fvec f2 = _mm256_castsi256_ps(
      _mm256_slli_epi32(_mm256_add_epi32(_mm256_sub_epi32(k, k1), bias), 23));
  return _mm256_mul_ps(_mm256_mul_ps(p, f1), f2);
}
inline fvec vselect_lt(fvec a, fvec b, fvec x, fvec y) {
  return _mm256_blendv_ps(y, x, _mm256_cmp_ps(a, b, _CMP_LT_OQ));
}
inline fvec vloadu(const float* p) { return _mm256_loadu_ps(p); }
inline void vstoreu(float* p, fvec v) { _mm256_storeu_ps(p, v); }
inline vmask vlanes(int n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
inline fvec vload(const float* p, vmask m) { return _mm256_maskload_ps(p, m); }
inline void vstore(float* p, vmask m, fvec v) { _mm256_maskstore_ps(p, m, v); }
#endif

// e^x: x = n ln2 + r with |r| <= ln2 / 2, e^r by a degree-6 polynomial (relative error
// ~1e-7, float32's own), times 2^n. Saturates to 0 / inf like expf; the operand order of
// max/min (they return their second operand when one is NaN) keeps NaN a NaN, so a diverged
// model still shows as a NaN loss.
inline fvec vexp(fvec x) {
  x = vmin(vset(89.f), vmax(vset(-104.f), x));
  const fvec n = vround(vmul(x, vset(1.44269504089f)));
  fvec r = vfnmadd(n, vset(0.693359375f), x);
  r = vfnmadd(n, vset(-2.12194440e-4f), r);
  fvec p = vset(1.9875691500e-4f);
  p = vfmadd(p, r, vset(1.3981999507e-3f));
  p = vfmadd(p, r, vset(8.3334519073e-3f));
  p = vfmadd(p, r, vset(4.1665795894e-2f));
  p = vfmadd(p, r, vset(1.6666665459e-1f));
  p = vfmadd(p, r, vset(5.0000001201e-1f));
  p = vfmadd(p, vmul(r, r), vadd(r, vset(1.f)));
  return vscale2(p, n);
}

inline fvec vsigmoid(fvec x) {
  const fvec one = vset(1.f);
  return vdiv(one, vadd(one, vexp(vsub(vzero(), x))));
}

// tanh: an odd polynomial for |x| < 0.625 (where 1 - 2 / (e^2x + 1) would lose digits),
// else 1 - 2 / (e^(2|x|) + 1) with x's sign.
inline fvec vtanh(fvec x) {
  const fvec one = vset(1.f);
  const fvec ax = vabs(x);
  const fvec big = vsub(one, vdiv(vset(2.f), vadd(vexp(vadd(ax, ax)), one)));
  const fvec z = vmul(x, x);
  fvec q = vset(-5.70498872745e-3f);
  q = vfmadd(q, z, vset(2.06390887954e-2f));
  q = vfmadd(q, z, vset(-5.37397155531e-2f));
  q = vfmadd(q, z, vset(1.33314422036e-1f));
  q = vfmadd(q, z, vset(-3.33332819422e-1f));
  const fvec small = vfmadd(vmul(q, z), x, x);
  // copy x's sign onto the large-|x| branch
  const fvec sign = vand(x, vset(-0.f));
  return vselect_lt(ax, vset(0.625f), small, vor(big, sign));
}

}  // namespace d2l

#endif  // __AVX512F__ || __AVX2__ && __FMA__
#endif  // D2L_RNN_VEC_MATH_H_
