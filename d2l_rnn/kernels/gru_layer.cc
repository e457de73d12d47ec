// The book's GRU layer, all time steps in one MXNet operator (forward and backward).
//
// Same function as d2l_rnn.scratch's unrolled graph, computed with fewer passes over memory:
//   Z_t = sigmoid(X_t W_xz + H_{t-1} W_hz + b_z)        R_t = sigmoid(X_t W_xr + H_{t-1} W_hr + b_r)
//   H~_t = tanh(X_t W_xh + (R_t * H_{t-1}) W_hh + b_h)  H_t = Z_t * H_{t-1} + (1 - Z_t) * H~_t
// The input products X_t W_x* (a row lookup for token indices) stay in the MXNet graph; this
// operator runs the recurrence. Why it is faster than the graph of small MXNet operators:
// each step's two hidden products run in a register-blocked kernel on both cores, the ~20
// elementwise operations of a step (forward and backward) become two passes over the batch,
// and the weight gradients are two large products over all steps after the backward loop
// instead of 2 x num_steps small ones.
//
// Operator d2l_gru_layer (attribute reverse = "0" | "1": run from the last step to the first)
//   inputs : XZR (T, B, 2h) = X W_xz | X W_xr,  XH (T, B, h) = X W_xh,  H0 (B, h),
//            W_hzr (h, 2h) = W_hz | W_hr,  b_zr (2h),  W_hh (h, h),  b_h (h)
//   outputs: Y (T, B, h) the hidden states; ZR (T, B, 2h), RH (T, B, h), HT (T, B, h): the
//            gates, R * H_{t-1} and H~, kept for the backward pass.
// Built by d2l_rnn/fused.py (with softmax_ce.cc and module.cc) against MXNet's lib_api.

#include <cmath>
#include <cstring>
#include <string>
#include <vector>
#if defined(__AVX512F__)
#include <immintrin.h>
#endif
#include "mxnet/lib_api.h"
#include "op_common.h"
#include "vec_math.h"

using namespace mxnet::ext;

namespace {

// ------------------------------------------------------------------------------------------
// C (M x N, row stride ldc) = [C +] A B, with A(i, k) = A[i * sai + k * sak] (so A may be read
// transposed) and B row-major (K x N, row stride ldb). Called inside a parallel region: the
// 8 x 32 output blocks are shared among the threads; implicit barrier at the end.

#if defined(__AVX512F__)
// MR rows x 32 columns of C in 2 * MR vector registers; FULL: all 32 columns exist (no
// masks, the common case), else the first ncols.
template <int MR, bool FULL>
inline void micro(int K, const float* A, long sai, long sak, const float* B, long ldb,
                  float* C, long ldc, int ncols, bool acc) {
  const __mmask16 m0 = FULL || ncols >= 16 ? 0xFFFF : (__mmask16)((1u << ncols) - 1);
  const __mmask16 m1 = FULL || ncols >= 32 ? 0xFFFF
                       : ncols > 16 ? (__mmask16)((1u << (ncols - 16)) - 1) : 0;
  __m512 c0[MR], c1[MR];
  for (int r = 0; r < MR; ++r) {
    c0[r] = acc ? _mm512_maskz_loadu_ps(m0, C + r * ldc) : _mm512_setzero_ps();
    c1[r] = acc ? _mm512_maskz_loadu_ps(m1, C + r * ldc + 16) : _mm512_setzero_ps();
  }
  for (int k = 0; k < K; ++k) {
    __m512 b0, b1;
    if (FULL) {
      b0 = _mm512_loadu_ps(B + k * ldb);
      b1 = _mm512_loadu_ps(B + k * ldb + 16);
    } else {
      b0 = _mm512_maskz_loadu_ps(m0, B + k * ldb);
      b1 = _mm512_maskz_loadu_ps(m1, B + k * ldb + 16);
    }
    const float* a = A + k * sak;
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      const __m512 ar = _mm512_set1_ps(a[r * sai]);
      c0[r] = _mm512_fmadd_ps(ar, b0, c0[r]);
      c1[r] = _mm512_fmadd_ps(ar, b1, c1[r]);
    }
  }
  for (int r = 0; r < MR; ++r) {
    _mm512_mask_storeu_ps(C + r * ldc, m0, c0[r]);
    _mm512_mask_storeu_ps(C + r * ldc + 16, m1, c1[r]);
  }
}
#else
template <int MR, bool FULL>
inline void micro(int K, const float* A, long sai, long sak, const float* B, long ldb,
                  float* C, long ldc, int ncols, bool acc) {
  float c[MR][32];
  for (int r = 0; r < MR; ++r)
    for (int j = 0; j < ncols; ++j) c[r][j] = acc ? C[r * ldc + j] : 0.f;
  for (int k = 0; k < K; ++k) {
    const float* b = B + k * ldb;
    for (int r = 0; r < MR; ++r) {
      const float ar = A[r * sai + k * sak];
      for (int j = 0; j < ncols; ++j) c[r][j] += ar * b[j];
    }
  }
  for (int r = 0; r < MR; ++r)
    for (int j = 0; j < ncols; ++j) C[r * ldc + j] = c[r][j];
}
#endif

template <bool FULL>
void run_block(int mr, int K, const float* a, long sai, long sak, const float* b, long ldb,
               float* c, long ldc, int ncols, bool acc) {
  switch (mr) {
    case 8: micro<8, FULL>(K, a, sai, sak, b, ldb, c, ldc, ncols, acc); break;
    case 7: micro<7, FULL>(K, a, sai, sak, b, ldb, c, ldc, ncols, acc); break;
    case 6: micro<6, FULL>(K, a, sai, sak, b, ldb, c, ldc, ncols, acc); break;
    case 5: micro<5, FULL>(K, a, sai, sak, b, ldb, c, ldc, ncols, acc); break;
    case 4: micro<4, FULL>(K, a, sai, sak, b, ldb, c, ldc, ncols, acc); break;
    case 3: micro<3, FULL>(K, a, sai, sak, b, ldb, c, ldc, ncols, acc); break;
    case 2: micro<2, FULL>(K, a, sai, sak, b, ldb, c, ldc, ncols, acc); break;
    default: micro<1, FULL>(K, a, sai, sak, b, ldb, c, ldc, ncols, acc); break;
  }
}

void gemm(int M, int N, int K, const float* A, long sai, long sak, const float* B, long ldb,
          float* C, long ldc, bool acc) {
  const int nb = (N + 31) / 32, mb = (M + 7) / 8;
#pragma omp for schedule(static) collapse(2)
  for (int jb = 0; jb < nb; ++jb) {
    for (int ib = 0; ib < mb; ++ib) {
      const int i = ib * 8, j = jb * 32, mr = M - i < 8 ? M - i : 8;
      const int ncols = N - j < 32 ? N - j : 32;
      const float* a = A + i * sai;
      const float* b = B + j;
      float* c = C + i * ldc + j;
      if (ncols == 32) {
        run_block<true>(mr, K, a, sai, sak, b, ldb, c, ldc, ncols, acc);
      } else {
        run_block<false>(mr, K, a, sai, sak, b, ldb, c, ldc, ncols, acc);
      }
    }
  }
}

// out[j] = f(a[j] + b[j] + c[j]) for j < n, f = sigmoid or tanh. libm's scalar expf/tanhf
// would cost more than the products, so the AVX-512 route evaluates 16 at a time.
inline float sigmoid(float x) { return 1.f / (1.f + std::exp(-x)); }

#if defined(__AVX512F__)
using d2l::sigmoid16;
using d2l::tanh16;

template <bool TANH>
void act_sum(const float* a, const float* b, const float* c, float* out, int n) {
  for (int j = 0; j < n; j += 16) {
    const __mmask16 m = n - j >= 16 ? 0xFFFF : (__mmask16)((1u << (n - j)) - 1);
    const __m512 x = _mm512_add_ps(_mm512_add_ps(_mm512_maskz_loadu_ps(m, a + j),
                                                 _mm512_maskz_loadu_ps(m, b + j)),
                                   _mm512_maskz_loadu_ps(m, c + j));
    _mm512_mask_storeu_ps(out + j, m, TANH ? tanh16(x) : sigmoid16(x));
  }
}
#else
template <bool TANH>
void act_sum(const float* a, const float* b, const float* c, float* out, int n) {
  for (int j = 0; j < n; ++j) {
    const float x = a[j] + b[j] + c[j];
    out[j] = TANH ? std::tanh(x) : sigmoid(x);
  }
}
#endif

// W (rows x cols) -> WT (cols x rows), shared among the threads.
void transpose(const float* W, int rows, int cols, float* WT) {
#pragma omp for schedule(static)
  for (int j = 0; j < cols; ++j)
    for (int i = 0; i < rows; ++i) WT[j * rows + i] = W[i * cols + j];
}

// out[j] = sum_r X[r, j] for an (rows x cols) row-major X; the threads share the columns in
// blocks of 64 and read rows in order (column by column would stride through memory).
void column_sums(const float* X, long rows, int cols, float* out) {
  const int nb = (cols + 63) / 64;
#pragma omp for schedule(static)
  for (int jb = 0; jb < nb; ++jb) {
    const int j0 = jb * 64, n = cols - j0 < 64 ? cols - j0 : 64;
    float acc[64] = {0.f};
    for (long r = 0; r < rows; ++r) {
      const float* x = X + r * cols + j0;
      for (int j = 0; j < n; ++j) acc[j] += x[j];
    }
    for (int j = 0; j < n; ++j) out[j0 + j] = acc[j];
  }
}

bool is_reverse(const std::unordered_map<std::string, std::string>& attrs) {
  auto it = attrs.find("reverse");
  return it != attrs.end() && (it->second == "1" || it->second == "True" || it->second == "true");
}

// The step processed at position s of the loop (s = 0 first).
inline int step_at(int s, int T, bool reverse) { return reverse ? T - 1 - s : s; }

// ------------------------------------------------------------------------------------------

MXReturnValue forward(const std::unordered_map<std::string, std::string>& attrs,
                      std::vector<MXTensor>* inputs, std::vector<MXTensor>* outputs,
                      const OpResource& res) {
  const int T = (*inputs)[0].shape[0], B = (*inputs)[0].shape[1], h = (*inputs)[1].shape[2];
  const float* XZR = (*inputs)[0].data<float>();
  const float* XH = (*inputs)[1].data<float>();
  const float* H0 = (*inputs)[2].data<float>();
  const float* Wzr = (*inputs)[3].data<float>();
  const float* bzr = (*inputs)[4].data<float>();
  const float* Whh = (*inputs)[5].data<float>();
  const float* bh = (*inputs)[6].data<float>();
  float* Y = (*outputs)[0].data<float>();
  float* ZR = (*outputs)[1].data<float>();
  float* RH = (*outputs)[2].data<float>();
  float* HT = (*outputs)[3].data<float>();
  const bool reverse = is_reverse(attrs);
  const long bh1 = (long)B * h, bh2 = 2 * bh1;

#pragma omp parallel
  for (int s = 0; s < T; ++s) {
    const int t = step_at(s, T, reverse);
    const float* Hp = s == 0 ? H0 : Y + step_at(s - 1, T, reverse) * bh1;
    float* zr = ZR + t * bh2;
    float* rh = RH + t * bh1;
    float* ht = HT + t * bh1;
    float* y = Y + t * bh1;
    gemm(B, 2 * h, h, Hp, h, 1, Wzr, 2 * h, zr, 2 * h, false);
#pragma omp for schedule(static)
    for (int b = 0; b < B; ++b) {
      float* g = zr + b * 2 * h;
      const float* x = XZR + t * bh2 + b * 2 * h;
      act_sum<false>(g, x, bzr, g, 2 * h);
      for (int j = 0; j < h; ++j) rh[b * h + j] = g[h + j] * Hp[b * h + j];
    }
    gemm(B, h, h, rh, h, 1, Whh, h, ht, h, false);
#pragma omp for schedule(static)
    for (int b = 0; b < B; ++b) {
      const float* z = zr + b * 2 * h;
      float* c = ht + b * h;
      act_sum<true>(c, XH + t * bh1 + b * h, bh, c, h);
      for (int j = 0; j < h; ++j) y[b * h + j] = c[j] + z[j] * (Hp[b * h + j] - c[j]);
    }
  }
  return MX_SUCCESS;
}

// Inputs: the gradients of the 4 outputs, the 7 inputs, the 4 outputs.
// Outputs: the gradients of the 7 inputs.
MXReturnValue backward(const std::unordered_map<std::string, std::string>& attrs,
                       std::vector<MXTensor>* inputs, std::vector<MXTensor>* outputs,
                       const OpResource& res) {
  const float* dY = (*inputs)[0].data<float>();
  const int T = (*inputs)[4].shape[0], B = (*inputs)[4].shape[1], h = (*inputs)[5].shape[2];
  const float* H0 = (*inputs)[6].data<float>();
  const float* Wzr = (*inputs)[7].data<float>();
  const float* Whh = (*inputs)[9].data<float>();
  const float* Y = (*inputs)[11].data<float>();
  const float* ZR = (*inputs)[12].data<float>();
  const float* RH = (*inputs)[13].data<float>();
  const float* HT = (*inputs)[14].data<float>();
  float* dXZR = (*outputs)[0].data<float>();
  float* dXH = (*outputs)[1].data<float>();
  float* dH0 = (*outputs)[2].data<float>();
  float* dWzr = (*outputs)[3].data<float>();
  float* dbzr = (*outputs)[4].data<float>();
  float* dWhh = (*outputs)[5].data<float>();
  float* dbh = (*outputs)[6].data<float>();
  const bool reverse = is_reverse(attrs);
  const long bh1 = (long)B * h, bh2 = 2 * bh1;

  // Scratch: the transposed hidden weights, the gradient reaching R * H_{t-1}.
  float* WzrT = static_cast<float*>(res.alloc_cpu(sizeof(float) * (2 * h * h + h * h + bh1)));
  float* WhhT = WzrT + 2 * h * h;
  float* dRH = WhhT + h * h;
  float* carry = dH0;  // the gradient reaching H_{t-1}; after the loop, H0's

#pragma omp parallel
  {
    transpose(Wzr, h, 2 * h, WzrT);
    transpose(Whh, h, h, WhhT);
    for (int s = T - 1; s >= 0; --s) {
      const int t = step_at(s, T, reverse);
      const float* Hp = s == 0 ? H0 : Y + step_at(s - 1, T, reverse) * bh1;
      const float* zr = ZR + t * bh2;
      const float* ht = HT + t * bh1;
      float* dzr = dXZR + t * bh2;
      float* dgh = dXH + t * bh1;
      const bool last = s == T - 1;
#pragma omp for schedule(static)
      for (int b = 0; b < B; ++b) {
        for (int j = 0; j < h; ++j) {
          const long i = b * h + j;
          const float z = zr[b * 2 * h + j], c = ht[i];
          const float dh = dY[t * bh1 + i] + (last ? 0.f : carry[i]);
          dgh[i] = dh * (1.f - z) * (1.f - c * c);
          dzr[b * 2 * h + j] = dh * (Hp[i] - c) * z * (1.f - z);
          carry[i] = dh * z;
        }
      }
      gemm(B, h, h, dgh, h, 1, WhhT, h, dRH, h, false);
#pragma omp for schedule(static)
      for (int b = 0; b < B; ++b) {
        for (int j = 0; j < h; ++j) {
          const long i = b * h + j;
          const float r = zr[b * 2 * h + h + j];
          dzr[b * 2 * h + h + j] = dRH[i] * Hp[i] * r * (1.f - r);
          carry[i] += dRH[i] * r;
        }
      }
      gemm(B, h, 2 * h, dzr, 2 * h, 1, WzrT, h, carry, h, true);
    }

    // Weight gradients over all steps at once: dW_hzr = sum_t H_{t-1}^T dG_zr,t, split into
    // the step that read H0 and the T - 1 steps that read an earlier output of Y.
    const int first = step_at(0, T, reverse);
    gemm(h, 2 * h, B, H0, 1, h, dXZR + first * bh2, 2 * h, dWzr, 2 * h, false);
    if (T > 1) {
      // Forward order: Y[0 .. T-2] feed steps 1 .. T-1; reverse: Y[1 .. T-1] feed 0 .. T-2.
      const float* Yp = reverse ? Y + bh1 : Y;
      const float* dG = reverse ? dXZR : dXZR + bh2;
      gemm(h, 2 * h, (T - 1) * B, Yp, 1, h, dG, 2 * h, dWzr, 2 * h, true);
    }
    gemm(h, h, T * B, RH, 1, h, dXH, h, dWhh, h, false);
    column_sums(dXZR, (long)T * B, 2 * h, dbzr);
    column_sums(dXH, (long)T * B, h, dbh);
  }
  return MX_SUCCESS;
}

MXReturnValue infer_type(const std::unordered_map<std::string, std::string>& attrs,
                         std::vector<int>* in_types, std::vector<int>* out_types) {
  return d2l::all_float32("d2l_gru_layer", *in_types, out_types);
}

MXReturnValue infer_shape(const std::unordered_map<std::string, std::string>& attrs,
                          std::vector<std::vector<unsigned int>>* in,
                          std::vector<std::vector<unsigned int>>* out) {
  const auto& xzr = (*in)[0];
  const auto& xh = (*in)[1];
  if (xzr.size() != 3 || xh.size() != 3 || xzr[0] != xh[0] || xzr[1] != xh[1] ||
      xzr[2] != 2 * xh[2]) {
    MX_ERROR_MSG << "d2l_gru_layer: expected XZR (T, B, 2h) and XH (T, B, h)";
    return MX_FAIL;
  }
  const unsigned T = xh[0], B = xh[1], h = xh[2];
  const std::vector<std::vector<unsigned int>> expect = {
      {B, h}, {h, 2 * h}, {2 * h}, {h, h}, {h}};
  for (size_t i = 0; i < expect.size(); ++i) {
    if ((*in)[i + 2] != expect[i]) {
      MX_ERROR_MSG << "d2l_gru_layer: input " << i + 2 << " has the wrong shape";
      return MX_FAIL;
    }
  }
  (*out)[0] = {T, B, h};
  (*out)[1] = {T, B, 2 * h};
  (*out)[2] = {T, B, h};
  (*out)[3] = {T, B, h};
  return MX_SUCCESS;
}

}  // namespace

REGISTER_OP(d2l_gru_layer)
    .setParseAttrs(d2l::parse_attrs<7, 4>)
    .setInferType(infer_type)
    .setInferShape(infer_shape)
    .setForward(forward, "cpu")
    .setBackward(backward, "cpu");
