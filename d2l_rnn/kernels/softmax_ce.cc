// The language model's loss in one MXNet operator: the mean softmax cross-entropy.
//
//   loss = mean_n ( log sum_j exp(Y[n, j]) - Y[n, y_n] )
//   dloss/dY[n, j] = (softmax(Y[n])_j - [j == y_n]) / N
//
// The same function as Gluon's SoftmaxCrossEntropyLoss()(Y, y).mean(), which runs as
// log_softmax, pick, mean and their three backward operators, each a pass over the
// (N, vocab_size) array; here the forward pass reads Y twice and the backward pass once, and
// only the N row log-sum-exps are kept for the backward pass.
//
// Operator d2l_softmax_ce
//   inputs : Y (N, V) float32 scores, y (N,) float32 labels (clipped to 0 .. V-1, like pick)
//   outputs: loss (1,) the mean; lse (N,) each row's log-sum-exp, kept for the backward pass

#include <algorithm>
#include <cmath>
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

inline long label_at(const float* y, long n, long V) {
  const long c = static_cast<long>(y[n]);
  return c < 0 ? 0 : (c >= V ? V - 1 : c);
}

// sum_j exp(x[j] - m)
float sum_exp(const float* x, long V, float m) {
#if defined(__AVX512F__)
  __m512 acc = _mm512_setzero_ps();
  const __m512 mv = _mm512_set1_ps(m);
  for (long j = 0; j < V; j += 16) {
    const __mmask16 k = V - j >= 16 ? 0xFFFF : (__mmask16)((1u << (V - j)) - 1);
    const __m512 e = d2l::exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, x + j), mv));
    acc = _mm512_mask_add_ps(acc, k, acc, e);
  }
  return _mm512_reduce_add_ps(acc);
#else
  float s = 0.f;
  for (long j = 0; j < V; ++j) s += std::exp(x[j] - m);
  return s;
#endif
}

MXReturnValue forward(const std::unordered_map<std::string, std::string>& attrs,
                      std::vector<MXTensor>* inputs, std::vector<MXTensor>* outputs,
                      const OpResource& res) {
  const long N = (*inputs)[0].shape[0], V = (*inputs)[0].shape[1];
  const float* Y = (*inputs)[0].data<float>();
  const float* y = (*inputs)[1].data<float>();
  float* loss = (*outputs)[0].data<float>();
  float* lse = (*outputs)[1].data<float>();
  double total = 0.0;
#pragma omp parallel for schedule(static) reduction(+ : total)
  for (long n = 0; n < N; ++n) {
    const float* x = Y + n * V;
    const float m = *std::max_element(x, x + V);
    lse[n] = m + std::log(sum_exp(x, V, m));
    total += lse[n] - x[label_at(y, n, V)];
  }
  loss[0] = static_cast<float>(total / N);
  return MX_SUCCESS;
}

// Inputs: the gradients of loss and lse, Y, y, loss, lse. Outputs: dY, dy (zeros).
MXReturnValue backward(const std::unordered_map<std::string, std::string>& attrs,
                       std::vector<MXTensor>* inputs, std::vector<MXTensor>* outputs,
                       const OpResource& res) {
  const float g = (*inputs)[0].data<float>()[0];
  const long N = (*inputs)[2].shape[0], V = (*inputs)[2].shape[1];
  const float* Y = (*inputs)[2].data<float>();
  const float* y = (*inputs)[3].data<float>();
  const float* lse = (*inputs)[5].data<float>();
  float* dY = (*outputs)[0].data<float>();
  float* dy = (*outputs)[1].data<float>();
  const float scale = g / N;
#pragma omp parallel for schedule(static)
  for (long n = 0; n < N; ++n) {
    const float* x = Y + n * V;
    float* d = dY + n * V;
#if defined(__AVX512F__)
    const __m512 l = _mm512_set1_ps(lse[n]), s = _mm512_set1_ps(scale);
    for (long j = 0; j < V; j += 16) {
      const __mmask16 k = V - j >= 16 ? 0xFFFF : (__mmask16)((1u << (V - j)) - 1);
      const __m512 p = d2l::exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, x + j), l));
      _mm512_mask_storeu_ps(d + j, k, _mm512_mul_ps(p, s));
    }
#else
    for (long j = 0; j < V; ++j) d[j] = std::exp(x[j] - lse[n]) * scale;
#endif
    d[label_at(y, n, V)] -= scale;
    dy[n] = 0.f;
  }
  return MX_SUCCESS;
}

MXReturnValue infer_type(const std::unordered_map<std::string, std::string>& attrs,
                         std::vector<int>* in_types, std::vector<int>* out_types) {
  return d2l::all_float32("d2l_softmax_ce", *in_types, out_types);
}

MXReturnValue infer_shape(const std::unordered_map<std::string, std::string>& attrs,
                          std::vector<std::vector<unsigned int>>* in,
                          std::vector<std::vector<unsigned int>>* out) {
  const auto& Y = (*in)[0];
  const auto& y = (*in)[1];
  if (Y.size() != 2 || y.size() != 1 || y[0] != Y[0] || Y[1] == 0) {
    MX_ERROR_MSG << "d2l_softmax_ce: expected scores (N, V) and labels (N,)";
    return MX_FAIL;
  }
  (*out)[0] = {1};
  (*out)[1] = {Y[0]};
  return MX_SUCCESS;
}

}  // namespace

REGISTER_OP(d2l_softmax_ce)
    .setParseAttrs(d2l::parse_attrs<2, 2>)
    .setInferType(infer_type)
    .setInferShape(infer_shape)
    .setForward(forward, "cpu")
    .setBackward(backward, "cpu");
