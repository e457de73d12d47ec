// The trainers' update in one MXNet operator: SGD with global-norm gradient clipping.
//
//   norm  = sqrt(sum_i ||g_i||^2)                     over all the gradients together
//   scale = min(1, theta / norm)                       (1 when theta <= 0: no clipping)
//   w_i  -= lr * scale * g_i                           every weight, in place
//
// The same function as d2l_rnn.util.optim.clipped_sgd_step, which runs as multi_sum_sq, a few
// small operators for the scale and preloaded_multi_sgd_update. Those two kernels read the
// gradients in separate passes and (measured at the chapter's GRU, 1.25 M weights) take
// 0.74 and 2.5 ms per minibatch on 2 cores; here one pass reads the gradients for the norm
// and a second updates the weights, both shared among the threads, in one operator call.
// The norm is accumulated in double precision.
//
// Operator d2l_clipped_sgd (attributes num_weights = n, lr, theta)
//   inputs : w_0 .. w_{n-1} the weights (updated in place), g_0 .. g_{n-1} their gradients
//            (same shapes), all float32
//   outputs: norm (1,) the gradients' global norm before clipping

#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>
#include "mxnet/lib_api.h"
#include "op_common.h"

using namespace mxnet::ext;

namespace {

constexpr long kChunk = 4096;  // floats of a gradient summed by one thread at a time

int num_weights(const std::unordered_map<std::string, std::string>& attrs) {
  return d2l::int_attr(attrs, "num_weights");
}

float float_attr(const std::unordered_map<std::string, std::string>& attrs, const char* name) {
  auto it = attrs.find(name);
  return it == attrs.end() ? 0.f : std::strtof(it->second.c_str(), nullptr);
}

MXReturnValue parse_attrs(const std::unordered_map<std::string, std::string>& attrs,
                          int* num_in, int* num_out) {
  const int n = num_weights(attrs);
  if (n < 1) {
    MX_ERROR_MSG << "d2l_clipped_sgd: num_weights must be a positive integer";
    return MX_FAIL;
  }
  *num_in = 2 * n;
  *num_out = 1;
  return MX_SUCCESS;
}

MXReturnValue forward(const std::unordered_map<std::string, std::string>& attrs,
                      std::vector<MXTensor>* inputs, std::vector<MXTensor>* outputs,
                      const OpResource& res) {
  const int n = num_weights(attrs);
  const float lr = float_attr(attrs, "lr"), theta = float_attr(attrs, "theta");
  double total = 0.0;
#pragma omp parallel num_threads(d2l::threads())
  {
    double local = 0.0;
    for (int a = 0; a < n; ++a) {
      const float* g = (*inputs)[n + a].data<float>();
      const long size = (*inputs)[n + a].size();
      const long chunks = (size + kChunk - 1) / kChunk;
#pragma omp for schedule(static) nowait
      for (long c = 0; c < chunks; ++c) {
        // One accumulator makes every add wait for the one before; simd lanes sum in
        // parallel (the whole operator at the chapter's GRU: 1.5 -> 0.5 ms).
        const long lo = c * kChunk, hi = size - lo < kChunk ? size : lo + kChunk;
        double acc = 0.0;
#pragma omp simd reduction(+ : acc)
        for (long i = lo; i < hi; ++i) acc += (double)g[i] * g[i];
        local += acc;
      }
    }
#pragma omp atomic
    total += local;
  }
  const float norm = (float)std::sqrt(total);
  // min(theta / norm, 1) as the graph computes it: a NaN norm gives a NaN step, so a
  // diverged gradient shows in the weights as it does on the graph route.
  float scale = 1.f;
  if (theta > 0.f) {
    const float r = theta / norm;
    scale = r < 1.f ? r : (std::isnan(r) ? r : 1.f);
  }
  const float step = lr * scale;
#pragma omp parallel num_threads(d2l::threads())
  for (int a = 0; a < n; ++a) {
    float* w = (*inputs)[a].data<float>();
    const float* g = (*inputs)[n + a].data<float>();
    const long size = (*inputs)[a].size();
#pragma omp for schedule(static) nowait
    for (long i = 0; i < size; ++i) w[i] = w[i] - step * g[i];
  }
  (*outputs)[0].data<float>()[0] = norm;
  return MX_SUCCESS;
}

MXReturnValue infer_type(const std::unordered_map<std::string, std::string>& attrs,
                         std::vector<int>* in_types, std::vector<int>* out_types) {
  return d2l::all_float32("d2l_clipped_sgd", *in_types, out_types);
}

MXReturnValue infer_shape(const std::unordered_map<std::string, std::string>& attrs,
                          std::vector<std::vector<unsigned int>>* in,
                          std::vector<std::vector<unsigned int>>* out) {
  const size_t n = in->size() / 2;
  for (size_t a = 0; a < n; ++a) {
    if ((*in)[a] != (*in)[n + a]) {
      MX_ERROR_MSG << "d2l_clipped_sgd: weight " << a << " and its gradient differ in shape";
      return MX_FAIL;
    }
  }
  (*out)[0] = {1};
  return MX_SUCCESS;
}

MXReturnValue mutate_inputs(const std::unordered_map<std::string, std::string>& attrs,
                            std::vector<int>* input_indices) {
  for (int a = 0; a < num_weights(attrs); ++a) input_indices->push_back(a);
  return MX_SUCCESS;
}

}  // namespace

REGISTER_OP(d2l_clipped_sgd)
    .setParseAttrs(parse_attrs)
    .setInferType(infer_type)
    .setInferShape(infer_shape)
    .setMutateInputs(mutate_inputs)
    .setForward(forward, "cpu");
