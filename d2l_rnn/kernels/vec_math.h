// Vectorised e^x, sigmoid and tanh for the kernels (AVX-512, 16 floats at a time).
#ifndef D2L_RNN_VEC_MATH_H_
#define D2L_RNN_VEC_MATH_H_
#if defined(__AVX512F__)
#include <immintrin.h>

namespace d2l {

// e^x: x = n ln2 + r with |r| <= ln2 / 2, e^r by a degree-6 polynomial (relative error
// ~1e-7, float32's own), times 2^n by scalef. Saturates to 0 / inf like expf; the operand
// order of max/min (they return their second operand when one is NaN) keeps NaN a NaN, so a
// diverged model still shows as a NaN loss.
inline __m512 exp16(__m512 x) {
  x = _mm512_min_ps(_mm512_set1_ps(89.f), _mm512_max_ps(_mm512_set1_ps(-104.f), x));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504089f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.9875691500e-4f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
  p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.f)));
  return _mm512_scalef_ps(p, n);
}

inline __m512 sigmoid16(__m512 x) {
  const __m512 one = _mm512_set1_ps(1.f);
  return _mm512_div_ps(one, _mm512_add_ps(one, exp16(_mm512_sub_ps(_mm512_setzero_ps(), x))));
}

// tanh: an odd polynomial for |x| < 0.625 (where 1 - 2 / (e^2x + 1) would lose digits),
// else 1 - 2 / (e^(2|x|) + 1) with x's sign.
inline __m512 tanh16(__m512 x) {
  const __m512 one = _mm512_set1_ps(1.f);
  const __m512 ax = _mm512_abs_ps(x);
  const __m512 big = _mm512_sub_ps(
      one, _mm512_div_ps(_mm512_set1_ps(2.f),
                         _mm512_add_ps(exp16(_mm512_add_ps(ax, ax)), one)));
  const __m512 z = _mm512_mul_ps(x, x);
  __m512 q = _mm512_set1_ps(-5.70498872745e-3f);
  q = _mm512_fmadd_ps(q, z, _mm512_set1_ps(2.06390887954e-2f));
  q = _mm512_fmadd_ps(q, z, _mm512_set1_ps(-5.37397155531e-2f));
  q = _mm512_fmadd_ps(q, z, _mm512_set1_ps(1.33314422036e-1f));
  q = _mm512_fmadd_ps(q, z, _mm512_set1_ps(-3.33332819422e-1f));
  const __m512 small = _mm512_fmadd_ps(_mm512_mul_ps(q, z), x, x);
  const __mmask16 is_small = _mm512_cmp_ps_mask(ax, _mm512_set1_ps(0.625f), _CMP_LT_OQ);
  // copy x's sign onto the large-|x| branch
  const __m512 sign = _mm512_and_ps(x, _mm512_set1_ps(-0.f));
  return _mm512_mask_blend_ps(is_small, _mm512_or_ps(big, sign), small);
}

}  // namespace d2l

#endif  // __AVX512F__
#endif  // D2L_RNN_VEC_MATH_H_
