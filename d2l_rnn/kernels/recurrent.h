// What the layer operators (gru_layer.cc, lstm_layer.cc, gru_cudnn_layer.cc) are built of:
// the register-blocked matrix product (AVX-512, AVX2 or scalar) and the packing of its
// operands, the weight gradients over all steps, the activation passes, the column sums of
// the backward passes, and the order of the steps. Every function here is called inside an
// OpenMP parallel region by all of its threads; each shares its work among them (ending in a
// barrier) unless its comment says it runs on the calling thread alone (gemm_serial,
// pack_a_block) or on the rows the thread owns (Rows below).
#ifndef D2L_RNN_RECURRENT_H_
#define D2L_RNN_RECURRENT_H_
#include <cmath>
#ifdef _OPENMP
#include <omp.h>
#endif
#include "vec_math.h"

namespace d2l {

// ------------------------------------------------------------------------------------------
// C (M x N, row stride ldc) = [C +] A B, with A(i, k) = A[i * sai + k * sak] (so A may be read
// transposed) and B row-major (K x N, row stride ldb). The kMR x 32 output blocks are shared
// among the threads; implicit barrier at the end.

#if defined(__AVX512F__)
constexpr int kMR = 8;  // rows of an output block, and of a packed A panel

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
#elif defined(D2L_RNN_VECTOR)
// AVX2 has 16 vector registers of 8 floats: a block is 6 rows, computed as two 6 x 16 tiles
// of 12 accumulators (plus 2 for B and 1 for A's broadcast). Measured on Zen 3, the products
// run ~1.2x faster than with 8-row blocks of 8 x 8 tiles and ~1.5x faster than with 4 x 16
// tiles (fewer loads per FMA, more products in flight). Every loop over the rows is unrolled:
// otherwise GCC keeps the accumulator arrays in memory and stores them at every k.
constexpr int kMR = 6;

template <int MR, bool FULL>
inline void tile(int K, const float* A, long sai, long sak, const float* B, long ldb,
                 float* C, long ldc, int ncols, bool acc) {
  const __m256i m0 = vlanes(ncols), m1 = vlanes(ncols - 8);
  __m256 c0[MR], c1[MR];
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) {
    if (acc) {
      c0[r] = FULL ? vloadu(C + r * ldc) : vload(C + r * ldc, m0);
      c1[r] = FULL ? vloadu(C + r * ldc + 8) : vload(C + r * ldc + 8, m1);
    } else {
      c0[r] = c1[r] = vzero();
    }
  }
  for (int k = 0; k < K; ++k) {
    const __m256 b0 = FULL ? vloadu(B + k * ldb) : vload(B + k * ldb, m0);
    const __m256 b1 = FULL ? vloadu(B + k * ldb + 8) : vload(B + k * ldb + 8, m1);
    const float* a = A + k * sak;
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      const __m256 ar = _mm256_broadcast_ss(a + r * sai);
      c0[r] = _mm256_fmadd_ps(ar, b0, c0[r]);
      c1[r] = _mm256_fmadd_ps(ar, b1, c1[r]);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) {
    if (FULL) {
      vstoreu(C + r * ldc, c0[r]);
      vstoreu(C + r * ldc + 8, c1[r]);
    } else {
      vstore(C + r * ldc, m0, c0[r]);
      vstore(C + r * ldc + 8, m1, c1[r]);
    }
  }
}

template <int MR, bool FULL>
inline void micro(int K, const float* A, long sai, long sak, const float* B, long ldb,
                  float* C, long ldc, int ncols, bool acc) {
  for (int j = 0; j < (FULL ? 32 : ncols); j += 16)
    tile<MR, FULL>(K, A, sai, sak, B + j, ldb, C + j, ldc, FULL ? 16 : ncols - j, acc);
}
#else
constexpr int kMR = 8;

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

// micro<mr> for a block of mr <= MR rows (the last block of M may be short).
template <bool FULL, int MR = kMR>
inline void run_block(int mr, int K, const float* a, long sai, long sak, const float* b,
                      long ldb, float* c, long ldc, int ncols, bool acc) {
  if constexpr (MR > 1) {
    if (mr < MR) return run_block<FULL, MR - 1>(mr, K, a, sai, sak, b, ldb, c, ldc, ncols, acc);
  }
  micro<MR, FULL>(K, a, sai, sak, b, ldb, c, ldc, ncols, acc);
}

// The general form: A's kMR-row panel ib starts at A + ib * a_panel, B's 32-column panel jb
// at B + jb * b_panel (row stride ldb), so that either may be packed (pack_a, pack_b below).
// gemm_block computes output block (ib, jb); gemm_panels shares the blocks among the threads
// (implicit barrier at the end), gemm_serial computes them all on the calling thread.
inline void gemm_block(int ib, int jb, int M, int N, int K, const float* A, long sai, long sak,
                       long a_panel, const float* B, long ldb, long b_panel, float* C, long ldc,
                       bool acc) {
  const int i = ib * kMR, j = jb * 32, mr = M - i < kMR ? M - i : kMR;
  const int ncols = N - j < 32 ? N - j : 32;
  const float* a = A + ib * a_panel;
  const float* b = B + jb * b_panel;
  float* c = C + i * ldc + j;
  if (ncols == 32) {
    run_block<true>(mr, K, a, sai, sak, b, ldb, c, ldc, ncols, acc);
  } else {
    run_block<false>(mr, K, a, sai, sak, b, ldb, c, ldc, ncols, acc);
  }
}

inline void gemm_panels(int M, int N, int K, const float* A, long sai, long sak, long a_panel,
                        const float* B, long ldb, long b_panel, float* C, long ldc, bool acc) {
  const int nb = (N + 31) / 32, mb = (M + kMR - 1) / kMR;
#pragma omp for schedule(static) collapse(2)
  for (int jb = 0; jb < nb; ++jb)
    for (int ib = 0; ib < mb; ++ib)
      gemm_block(ib, jb, M, N, K, A, sai, sak, a_panel, B, ldb, b_panel, C, ldc, acc);
}

// Column panel by column panel, so that B's panel stays in L1 for all of A's row blocks.
inline void gemm_serial(int M, int N, int K, const float* A, long sai, long sak, long a_panel,
                        const float* B, long ldb, long b_panel, float* C, long ldc, bool acc) {
  const int nb = (N + 31) / 32, mb = (M + kMR - 1) / kMR;
  for (int jb = 0; jb < nb; ++jb)
    for (int ib = 0; ib < mb; ++ib)
      gemm_block(ib, jb, M, N, K, A, sai, sak, a_panel, B, ldb, b_panel, C, ldc, acc);
}

// Packing. Rows of B or A that lie 4 KB apart (W_h's rows for h = 256, the gradients' rows)
// fall into the same cache sets, so the kernel would fetch its panel from L3 at every use;
// a packed panel is contiguous and stays in L1/L2. Each shares its panels among the threads.

// Floats of a packed B of K rows and N columns, of a packed A of M rows and K columns.
inline long b_packed(int K, int N) { return 32L * K * ((N + 31) / 32); }
inline long a_packed(int M, int K) { return (long)kMR * K * ((M + kMR - 1) / kMR); }

// P = B (K x N, B(k, j) = src[k * sbk + j * sbj]) as 32-column panels of K x 32, zero beyond
// column N: gemm_panels(..., P, 32, 32 * K, ...).
inline void pack_b(const float* src, long sbk, long sbj, int K, int N, float* P) {
  const int nb = (N + 31) / 32;
#pragma omp for schedule(static)
  for (int jb = 0; jb < nb; ++jb) {
    float* p = P + (long)jb * K * 32;
    const float* s = src + (long)jb * 32 * sbj;
    const int n = N - jb * 32 < 32 ? N - jb * 32 : 32;
    if (sbj == 1) {
      for (int k = 0; k < K; ++k)
        for (int jj = 0; jj < 32; ++jj) p[k * 32 + jj] = jj < n ? s[k * sbk + jj] : 0.f;
    } else {  // a transposed source: read along its rows
      for (int jj = 0; jj < 32; ++jj)
        for (int k = 0; k < K; ++k) p[k * 32 + jj] = jj < n ? s[jj * sbj + k * sbk] : 0.f;
    }
  }
}

// P = A (M x K, A(i, k) = src[i * sai + k * sak]) as kMR-row panels of K x kMR, zero beyond
// row M: gemm_panels(M, ..., P, 1, kMR, kMR * K, ...).
inline void pack_a_block(int ib, const float* src, long sai, long sak, int M, int K,
                         float* P) {
  float* p = P + (long)ib * K * kMR;
  const float* s = src + (long)ib * kMR * sai;
  const int n = M - ib * kMR < kMR ? M - ib * kMR : kMR;
  for (int k = 0; k < K; ++k)
    for (int r = 0; r < kMR; ++r) p[k * kMR + r] = r < n ? s[r * sai + k * sak] : 0.f;
}

inline void pack_a(const float* src, long sai, long sak, int M, int K, float* P) {
  const int mb = (M + kMR - 1) / kMR;
#pragma omp for schedule(static)
  for (int ib = 0; ib < mb; ++ib) pack_a_block(ib, src, sai, sak, M, K, P);
}

// The same for A = X^T, X (K x M) given by its rows, row(k) -> const float* (so that they
// may lie in different arrays).
template <class Row>
inline void pack_a_t(Row row, int K, int M, float* P) {
  const int mb = (M + kMR - 1) / kMR;
#pragma omp for schedule(static)
  for (int k = 0; k < K; ++k) {
    const float* x = row(k);
    for (int ib = 0; ib < mb; ++ib)
      for (int r = 0; r < kMR; ++r)
        P[(long)ib * K * kMR + k * kMR + r] = ib * kMR + r < M ? x[ib * kMR + r] : 0.f;
  }
}

// Weight gradients over all steps at once: dW (M x N) = sum_k row(k)^T dG_k, a product with
// K = T B, where row(k) -> const float* gives row k of the left operand (M values; its rows
// may lie in different arrays) and dG is (K x N) row-major. Packed kKC rows at a time into
// PH and PG (weight_gradient_scratch(M, N) floats), so that the scratch does not grow with
// T B and a chunk stays in cache.
constexpr int kKC = 256;

inline long weight_gradient_scratch(int M, int N) { return a_packed(M, kKC) + b_packed(kKC, N); }

template <class Row>
inline void weight_gradient(Row row, const float* dG, long K, int M, int N, float* dW,
                            float* scratch) {
  float* PH = scratch;
  float* PG = scratch + a_packed(M, kKC);
  for (long k0 = 0; k0 < K; k0 += kKC) {
    const int kc = K - k0 < kKC ? (int)(K - k0) : kKC;
    pack_a_t([&](int k) { return row(k0 + k); }, kc, M, PH);
    pack_b(dG + k0 * N, N, 1, kc, N, PG);
    gemm_panels(M, N, kc, PH, 1, kMR, (long)kMR * kc, PG, 32, 32L * kc, dW, N, k0 > 0);
  }
}

// ------------------------------------------------------------------------------------------
// Who computes which rows of a step. Within a step the rows of the batch are independent, so
// when the batch holds at least one kMR-row block per thread, each thread owns a contiguous
// range of rows for all the steps of a layer: its products, row passes and packing read only
// what it wrote itself, and the threads need not meet between steps (two or three barriers a
// step otherwise, and every row of a step's product travelling between the cores' caches). A
// smaller batch (generation: B = 1) shares every product's columns and every row pass among
// the threads instead, each ending in a barrier. Callers put an explicit barrier after the
// loop over the steps, before anything that reads all rows.
struct Rows {
  bool owned;  // false: shared
  int lo, hi;  // the rows [lo, hi) of this thread (owned), or all rows (shared)
  long slot;   // owned: where this thread's packed A panels start, in units of K floats
};

// Called by every thread of the parallel region.
inline Rows rows_of_thread(int B) {
#ifdef _OPENMP
  const int n = omp_get_num_threads(), i = omp_get_thread_num();
#else
  const int n = 1, i = 0;
#endif
  if (n > 1 && B < kMR * n) return {false, 0, B, 0};
  const int lo = (int)((long)B * i / n), hi = (int)((long)B * (i + 1) / n);
  return {true, lo, hi, (long)lo + (long)i * kMR};
}

// Floats of the scratch for a packed A of B rows and K columns, either way: each of n
// threads rounds its rows up to whole kMR blocks, and n kMR <= B when they own rows.
inline long a_packed_rows(int B, int K) { return (long)K * (2 * B + kMR); }

// f(b) for the rows b of this thread (owned) or shared among the threads (then a barrier).
template <class F>
inline void for_rows(const Rows& rows, F f) {
  if (rows.owned) {
    for (int b = rows.lo; b < rows.hi; ++b) f(b);
  } else {
#pragma omp for schedule(static)
    for (int b = rows.lo; b < rows.hi; ++b) f(b);
  }
}

// C = [C +] A W for the rows of the batch: A (B x K, row stride lda), W packed by pack_b
// (K x N), C (B x N, row stride ldc).
inline void rows_product(const Rows& rows, int B, int N, int K, const float* A, long lda,
                         const float* PW, float* C, long ldc, bool acc) {
  if (rows.owned) {
    gemm_serial(rows.hi - rows.lo, N, K, A + rows.lo * lda, lda, 1, kMR * lda, PW, 32, 32L * K,
                C + rows.lo * ldc, ldc, acc);
  } else {
    gemm_panels(B, N, K, A, lda, 1, kMR * lda, PW, 32, 32L * K, C, ldc, acc);
  }
}

// The same with A's rows packed first into PA (a_packed_rows(B, K) floats), for an A whose
// rows lie 4 KB apart (the gates' gradients).
inline void rows_product_packed(const Rows& rows, int B, int N, int K, const float* A, long lda,
                                float* PA, const float* PW, float* C, long ldc, bool acc) {
  if (rows.owned) {
    const int M = rows.hi - rows.lo;
    float* p = PA + rows.slot * K;
    for (int ib = 0; ib < (M + kMR - 1) / kMR; ++ib)
      pack_a_block(ib, A + rows.lo * lda, lda, 1, M, K, p);
    gemm_serial(M, N, K, p, 1, kMR, (long)kMR * K, PW, 32, 32L * K, C + rows.lo * ldc, ldc, acc);
  } else {
    pack_a(A, lda, 1, B, K, PA);
    gemm_panels(B, N, K, PA, 1, kMR, (long)kMR * K, PW, 32, 32L * K, C, ldc, acc);
  }
}

// The step processed at position s of the loop (s = 0 first).
inline int step_at(int s, int T, bool reverse) { return reverse ? T - 1 - s : s; }

// H_{t-1} for row k = t B + b of a layer's time-major inputs: H0 at the first step processed
// (t = 0 forward, t = T - 1 reversed), else the hidden state Y of the step before.
inline const float* previous_hidden(long k, int T, int B, int h, bool reverse, const float* H0,
                                    const float* Y) {
  const int t = (int)(k / B), s = reverse ? T - 1 - t : t;
  return (s == 0 ? H0 : Y + step_at(s - 1, T, reverse) * (long)B * h) + (k % B) * h;
}

// ------------------------------------------------------------------------------------------
// out[j] = f(a[j] + b[j] + c[j]) (act_sum) or f(a[j]) (act) for j < n, f = sigmoid or tanh,
// by one thread. libm's scalar expf/tanhf would cost more than the products, so the vector
// routes evaluate a register's width at a time.
inline float sigmoid(float x) { return 1.f / (1.f + std::exp(-x)); }

#if defined(D2L_RNN_VECTOR)
template <bool TANH>
inline fvec activate(fvec x) { return TANH ? vtanh(x) : vsigmoid(x); }

template <bool TANH>
inline void act_sum(const float* a, const float* b, const float* c, float* out, int n) {
  int j = 0;
  for (; j + kLanes <= n; j += kLanes)
    vstoreu(out + j, activate<TANH>(vadd(vadd(vloadu(a + j), vloadu(b + j)), vloadu(c + j))));
  if (j < n) {
    const vmask m = vlanes(n - j);
    vstore(out + j, m,
           activate<TANH>(vadd(vadd(vload(a + j, m), vload(b + j, m)), vload(c + j, m))));
  }
}

template <bool TANH>
inline void act(const float* a, float* out, int n) {
  int j = 0;
  for (; j + kLanes <= n; j += kLanes) vstoreu(out + j, activate<TANH>(vloadu(a + j)));
  if (j < n) {
    const vmask m = vlanes(n - j);
    vstore(out + j, m, activate<TANH>(vload(a + j, m)));
  }
}
#else
template <bool TANH>
inline void act_sum(const float* a, const float* b, const float* c, float* out, int n) {
  for (int j = 0; j < n; ++j) {
    const float x = a[j] + b[j] + c[j];
    out[j] = TANH ? std::tanh(x) : sigmoid(x);
  }
}

template <bool TANH>
inline void act(const float* a, float* out, int n) {
  for (int j = 0; j < n; ++j) out[j] = TANH ? std::tanh(a[j]) : sigmoid(a[j]);
}
#endif

// ------------------------------------------------------------------------------------------
// out[j] = sum_r X[r, j] for an (rows x cols) row-major X; the threads share the columns in
// blocks of 64 and read rows in order (column by column would stride through memory).
inline void column_sums(const float* X, long rows, int cols, float* out) {
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

}  // namespace d2l

#endif  // D2L_RNN_RECURRENT_H_
