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

#include <cmath>
#include <string>
#include <vector>
#include "mxnet/lib_api.h"
#include "op_common.h"
#include "vec_math.h"

using namespace mxnet::ext;

namespace {

inline long label_at(const float* y, long n, long V) {
  const long c = static_cast<long>(y[n]);
  return c < 0 ? 0 : (c >= V ? V - 1 : c);
}

// The row passes run on whole vectors (AVX-512 or AVX2, vec_math.h) and finish the last
// V mod width entries one by one; without either, one by one throughout. Measured at the
// chapter's (1120, 1027): forward 1.0 -> 0.36 ms, forward + backward 1.45 -> 0.67 ms (the max
// was a scalar std::max_element, and AVX2 machines ran every pass one by one).
#if defined(D2L_RNN_VECTOR)
constexpr long kW = sizeof(d2l::fvec) / sizeof(float);

inline float lanes_max(d2l::fvec v) {
  float t[kW];
  d2l::vstoreu(t, v);
  float m = t[0];
  for (long i = 1; i < kW; ++i) m = t[i] > m ? t[i] : m;
  return m;
}

inline float lanes_sum(d2l::fvec v) {
  float t[kW];
  d2l::vstoreu(t, v);
  float s = 0.f;
  for (long i = 0; i < kW; ++i) s += t[i];
  return s;
}
#else
constexpr long kW = 1;
#endif

// max_j x[j] (a NaN reaches the loss through sum_exp whatever this returns)
float row_max(const float* x, long V) {
  long j = 0;
  float m = -INFINITY;
#if defined(D2L_RNN_VECTOR)
  if (V >= kW) {
    d2l::fvec acc = d2l::vloadu(x);
    for (j = kW; j + kW <= V; j += kW) acc = d2l::vmax(d2l::vloadu(x + j), acc);
    m = lanes_max(acc);
  }
#endif
  for (; j < V; ++j) m = x[j] > m ? x[j] : m;
  return m;
}

// sum_j exp(x[j] - m)
float sum_exp(const float* x, long V, float m) {
  long j = 0;
  float s = 0.f;
#if defined(D2L_RNN_VECTOR)
  d2l::fvec acc = d2l::vzero();
  const d2l::fvec mv = d2l::vset(m);
  for (; j + kW <= V; j += kW) acc = d2l::vadd(acc, d2l::vexp(d2l::vsub(d2l::vloadu(x + j), mv)));
  s = lanes_sum(acc);
#endif
  for (; j < V; ++j) s += std::exp(x[j] - m);
  return s;
}

// d[j] = exp(x[j] - l) * scale
void scaled_softmax(const float* x, long V, float l, float scale, float* d) {
  long j = 0;
#if defined(D2L_RNN_VECTOR)
  const d2l::fvec lv = d2l::vset(l), sv = d2l::vset(scale);
  for (; j + kW <= V; j += kW)
    d2l::vstoreu(d + j, d2l::vmul(d2l::vexp(d2l::vsub(d2l::vloadu(x + j), lv)), sv));
#endif
  for (; j < V; ++j) d[j] = std::exp(x[j] - l) * scale;
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
#pragma omp parallel for schedule(static) reduction(+ : total) num_threads(d2l::threads())
  for (long n = 0; n < N; ++n) {
    const float* x = Y + n * V;
    const float m = row_max(x, V);
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
#pragma omp parallel for schedule(static) num_threads(d2l::threads())
  for (long n = 0; n < N; ++n) {
    const float* x = Y + n * V;
    float* d = dY + n * V;
    scaled_softmax(x, V, lse[n], scale, d);
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
