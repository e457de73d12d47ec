// The input products of token indices in one MXNet operator: a row lookup in several weights.
//
//   out[t, b] = W_1[x_tb] | W_2[x_tb] | ... | W_n[x_tb]      (a one-hot row times W_i is row x)
//   dW_i[v]   = sum over the (t, b) with x_tb = v of dout[t, b] restricted to W_i's columns
//
// The same function as take(concat(W_1, ..., W_n, dim=1), x) (mode "clip": an index below 0
// reads row 0, one beyond the last row reads the last row; a fractional index is truncated),
// without the concatenated copy of the weights in the forward pass and the split of its
// gradient in the backward pass (at the chapter's LSTM, 1027 x 1024 floats each way per
// minibatch). The indices get a zero gradient, as they do through take.
//
// Operator d2l_rows (attribute num_weights = n)
//   inputs : x (T, B) token indices as float32, W_1 .. W_n (V, w_i)
//   outputs: out (T, B, w_1 + ... + w_n)

#include <cstring>
#include <string>
#ifdef _OPENMP
#include <omp.h>
#endif
#include <vector>
#include "mxnet/lib_api.h"
#include "op_common.h"

using namespace mxnet::ext;

namespace {

inline long row_of(float x, long V) {
  const long v = static_cast<long>(x);
  return v < 0 ? 0 : v >= V ? V - 1 : v;
}

MXReturnValue parse_attrs(const std::unordered_map<std::string, std::string>& attrs,
                          int* num_in, int* num_out) {
  const int n = d2l::int_attr(attrs, "num_weights");
  if (n < 1) {
    MX_ERROR_MSG << "d2l_rows: num_weights must be a positive integer";
    return MX_FAIL;
  }
  *num_in = 1 + n;
  *num_out = 1;
  return MX_SUCCESS;
}

MXReturnValue forward(const std::unordered_map<std::string, std::string>& attrs,
                      std::vector<MXTensor>* inputs, std::vector<MXTensor>* outputs,
                      const OpResource& res) {
  const int n = d2l::int_attr(attrs, "num_weights");
  const float* x = (*inputs)[0].data<float>();
  const long K = (*inputs)[0].size(), V = (*inputs)[1].shape[0];
  const long width = (*outputs)[0].shape[2];
  float* out = (*outputs)[0].data<float>();
#pragma omp parallel for schedule(static) num_threads(d2l::threads())
  for (long k = 0; k < K; ++k) {
    const long v = row_of(x[k], V);
    float* o = out + k * width;
    for (int i = 0; i < n; ++i) {
      const long w = (*inputs)[1 + i].shape[1];
      std::memcpy(o, (*inputs)[1 + i].data<float>() + v * w, sizeof(float) * w);
      o += w;
    }
  }
  return MX_SUCCESS;
}

// Inputs: the gradient of out, the 1 + n inputs, out. Outputs: the gradients of the inputs.
// The threads share the rows (token values): each zeroes its rows of every dW_i, contiguous
// memory, then adds the tokens that fall in them, whole rows at a time, so no two write the
// same value.
MXReturnValue backward(const std::unordered_map<std::string, std::string>& attrs,
                       std::vector<MXTensor>* inputs, std::vector<MXTensor>* outputs,
                       const OpResource& res) {
  const int n = d2l::int_attr(attrs, "num_weights");
  const float* dout = (*inputs)[0].data<float>();
  const float* x = (*inputs)[1].data<float>();
  const long K = (*inputs)[1].size(), V = (*inputs)[2].shape[0];
  const long width = (*inputs)[0].shape[2];
  float* dx = (*outputs)[0].data<float>();
#pragma omp parallel num_threads(d2l::threads())
  {
#pragma omp for schedule(static) nowait
    for (long k = 0; k < K; ++k) dx[k] = 0.f;
#ifdef _OPENMP
    const long threads = omp_get_num_threads(), me = omp_get_thread_num();
#else
    const long threads = 1, me = 0;
#endif
    const long lo = V * me / threads, hi = V * (me + 1) / threads;
    for (int i = 0; i < n; ++i) {
      const long w = (*outputs)[1 + i].shape[1];
      std::memset((*outputs)[1 + i].data<float>() + lo * w, 0, sizeof(float) * (hi - lo) * w);
    }
    for (long k = 0; k < K; ++k) {
      const long v = row_of(x[k], V);
      if (v < lo || v >= hi) continue;
      const float* g = dout + k * width;
      for (int i = 0; i < n; ++i) {
        const long w = (*outputs)[1 + i].shape[1];
        float* d = (*outputs)[1 + i].data<float>() + v * w;
        for (long j = 0; j < w; ++j) d[j] += g[j];
        g += w;
      }
    }
  }
  return MX_SUCCESS;
}

MXReturnValue infer_type(const std::unordered_map<std::string, std::string>& attrs,
                         std::vector<int>* in_types, std::vector<int>* out_types) {
  return d2l::all_float32("d2l_rows", *in_types, out_types);
}

MXReturnValue infer_shape(const std::unordered_map<std::string, std::string>& attrs,
                          std::vector<std::vector<unsigned int>>* in,
                          std::vector<std::vector<unsigned int>>* out) {
  const auto& x = (*in)[0];
  if (x.size() != 2) {
    MX_ERROR_MSG << "d2l_rows: expected token indices (T, B)";
    return MX_FAIL;
  }
  unsigned width = 0;
  for (size_t i = 1; i < in->size(); ++i) {
    const auto& W = (*in)[i];
    if (W.size() != 2 || W[0] != (*in)[1][0]) {
      MX_ERROR_MSG << "d2l_rows: weight " << i - 1 << " is not (V, w) with the V of weight 0";
      return MX_FAIL;
    }
    width += W[1];
  }
  (*out)[0] = {x[0], x[1], width};
  return MX_SUCCESS;
}

}  // namespace

REGISTER_OP(d2l_rows)
    .setParseAttrs(parse_attrs)
    .setInferType(infer_type)
    .setInferShape(infer_shape)
    .setForward(forward, "cpu")
    .setBackward(backward, "cpu");
