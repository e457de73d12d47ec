// The book's GRU layer, all time steps in one MXNet operator (forward and backward).
//
// Same function as d2l_rnn.scratch's unrolled graph, computed with fewer passes over memory:
//   Z_t = sigmoid(X_t W_xz + H_{t-1} W_hz + b_z)        R_t = sigmoid(X_t W_xr + H_{t-1} W_hr + b_r)
//   H~_t = tanh(X_t W_xh + (R_t * H_{t-1}) W_hh + b_h)  H_t = Z_t * H_{t-1} + (1 - Z_t) * H~_t
// The input products X_t W_x* (a row lookup for token indices) stay in the MXNet graph; this
// operator runs the recurrence. Why it is faster than the graph of small MXNet operators:
// each step's two hidden products run in a register-blocked kernel (recurrent.h, shared with
// lstm_layer.cc) on every core, each owning its rows of the batch for all the steps (Rows
// there), the ~20 elementwise operations of a step (forward and backward) become two passes
// over the batch, and the weight gradients are two large products over all steps after the
// backward loop instead of 2 x num_steps small ones.
//
// Operator d2l_gru_layer (attribute reverse = "0" | "1": run from the last step to the first)
//   inputs : XZR (T, B, 2h) = X W_xz | X W_xr,  XH (T, B, h) = X W_xh,  H0 (B, h),
//            W_hzr (h, 2h) = W_hz | W_hr,  b_zr (2h),  W_hh (h, h),  b_h (h)
//   outputs: Y (T, B, h) the hidden states, HN (B, h) the last step's.
// Stateful: the forward pass keeps ZR (T, B, 2h), RH (T, B, h), HT (T, B, h), the gates,
// R * H_{t-1} and H~, in the operator's state (d2l::Saved) for its backward pass.
// Built by d2l_rnn/kernels/__init__.py (with the other .cc files) against MXNet's lib_api.

#include <string>
#include <vector>
#include "mxnet/lib_api.h"
#include "op_common.h"
#include "recurrent.h"

using namespace mxnet::ext;

namespace {

using d2l::act_sum;
using d2l::b_packed;
using d2l::column_sums;
using d2l::pack_b;
using d2l::previous_hidden;
using d2l::step_at;
using d2l::weight_gradient;
using d2l::weight_gradient_scratch;

// One forward call and its backward pass (MXNet creates a state per forward call); the
// forward pass keeps ZR | RH | HT.
class GruLayer : public d2l::LayerState {
 public:
  using LayerState::LayerState;
  MXReturnValue Forward(std::vector<MXTensor>* inputs, std::vector<MXTensor>* outputs,
                        const OpResource& res) override;
  MXReturnValue Backward(std::vector<MXTensor>* inputs, std::vector<MXTensor>* outputs,
                         const OpResource& res) override;
};

MXReturnValue GruLayer::Forward(std::vector<MXTensor>* inputs, std::vector<MXTensor>* outputs,
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
  float* HN = (*outputs)[1].data<float>();
  const bool reverse = reverse_;
  const long bh1 = (long)B * h, bh2 = 2 * bh1;
  float* ZR = keep("d2l_gru_layer", 4 * T * bh1);
  if (!ZR) return MX_FAIL;
  float* RH = ZR + T * bh2;
  float* HT = RH + T * bh1;
  // Scratch: W_hzr and W_hh packed once per call. Unpacked, their rows lie 8h and 4h bytes
  // apart, on the same cache sets for h = 1024 (measured at h = 1024, T = 35, B = 32: the
  // forward pass took 271 ms unpacked, 138 ms packed; forward + backward 848 ms, now 439).
  float* PWzr = static_cast<float*>(
      res.alloc_cpu(sizeof(float) * (b_packed(h, 2 * h) + b_packed(h, h))));
  float* PWhh = PWzr + b_packed(h, 2 * h);

#pragma omp parallel num_threads(d2l::threads())
  {
    pack_b(Wzr, 2 * h, 1, h, 2 * h, PWzr);
    pack_b(Whh, h, 1, h, h, PWhh);
    const d2l::Rows rows = d2l::rows_of_thread(B);
    for (int s = 0; s < T; ++s) {
      const int t = step_at(s, T, reverse);
      const float* Hp = s == 0 ? H0 : Y + step_at(s - 1, T, reverse) * bh1;
      float* zr = ZR + t * bh2;
      float* rh = RH + t * bh1;
      float* ht = HT + t * bh1;
      float* y = Y + t * bh1;
      d2l::rows_product(rows, B, 2 * h, h, Hp, h, PWzr, zr, 2 * h, false);
      d2l::for_rows(rows, [&](int b) {
        float* g = zr + b * 2 * h;
        const float* x = XZR + t * bh2 + b * 2 * h;
        act_sum<false>(g, x, bzr, g, 2 * h);
        for (int j = 0; j < h; ++j) rh[b * h + j] = g[h + j] * Hp[b * h + j];
      });
      d2l::rows_product(rows, B, h, h, rh, h, PWhh, ht, h, false);
      d2l::for_rows(rows, [&](int b) {
        const float* z = zr + b * 2 * h;
        float* c = ht + b * h;
        act_sum<true>(c, XH + t * bh1 + b * h, bh, c, h);
        for (int j = 0; j < h; ++j) y[b * h + j] = c[j] + z[j] * (Hp[b * h + j] - c[j]);
      });
    }
#pragma omp barrier
    const float* last = Y + step_at(T - 1, T, reverse) * bh1;
#pragma omp for schedule(static)
    for (long i = 0; i < bh1; ++i) HN[i] = last[i];
  }
  return MX_SUCCESS;
}

// Inputs: the gradients of the 2 outputs, the 7 inputs, the 2 outputs.
// Outputs: the gradients of the 7 inputs.
MXReturnValue GruLayer::Backward(std::vector<MXTensor>* inputs, std::vector<MXTensor>* outputs,
                                 const OpResource& res) {
  const float* dY = (*inputs)[0].data<float>();
  const float* dHN = (*inputs)[1].data<float>();
  const int T = (*inputs)[3].shape[0], B = (*inputs)[3].shape[1], h = (*inputs)[3].shape[2];
  const float* H0 = (*inputs)[4].data<float>();
  const float* Wzr = (*inputs)[5].data<float>();
  const float* Whh = (*inputs)[7].data<float>();
  const float* Y = (*inputs)[9].data<float>();
  float* dXZR = (*outputs)[0].data<float>();
  float* dXH = (*outputs)[1].data<float>();
  float* dH0 = (*outputs)[2].data<float>();
  float* dWzr = (*outputs)[3].data<float>();
  float* dbzr = (*outputs)[4].data<float>();
  float* dWhh = (*outputs)[5].data<float>();
  float* dbh = (*outputs)[6].data<float>();
  const bool reverse = reverse_;
  const long bh1 = (long)B * h, bh2 = 2 * bh1;
  const float* ZR = kept("d2l_gru_layer", 4 * T * bh1);
  if (!ZR) return MX_FAIL;
  const float* RH = ZR + T * bh2;
  const float* HT = RH + T * bh1;

  // Scratch: the transposed hidden weights, packed; the gradient reaching R * H_{t-1}; the
  // chunks of the weight gradients' products.
  const int TB = T * B;
  float* PWzrT = static_cast<float*>(res.alloc_cpu(sizeof(float) * (
      b_packed(2 * h, h) + b_packed(h, h) + bh1 + weight_gradient_scratch(h, 2 * h))));
  float* PWhhT = PWzrT + b_packed(2 * h, h);
  float* dRH = PWhhT + b_packed(h, h);
  float* PW = dRH + bh1;
  float* carry = dH0;  // the gradient reaching H_{t-1}; after the loop, H0's

#pragma omp parallel num_threads(d2l::threads())
  {
    pack_b(Wzr, 1, 2 * h, 2 * h, h, PWzrT);  // W_hzr^T (2h x h)
    pack_b(Whh, 1, h, h, h, PWhhT);          // W_hh^T
#pragma omp for schedule(static)
    for (long i = 0; i < bh1; ++i) carry[i] = dHN[i];  // beyond the last step: the final state's
    const d2l::Rows rows = d2l::rows_of_thread(B);
    for (int s = T - 1; s >= 0; --s) {
      const int t = step_at(s, T, reverse);
      const float* Hp = s == 0 ? H0 : Y + step_at(s - 1, T, reverse) * bh1;
      const float* zr = ZR + t * bh2;
      const float* ht = HT + t * bh1;
      float* dzr = dXZR + t * bh2;
      float* dgh = dXH + t * bh1;
      d2l::for_rows(rows, [&](int b) {
        for (int j = 0; j < h; ++j) {
          const long i = b * h + j;
          const float z = zr[b * 2 * h + j], c = ht[i];
          const float dh = dY[t * bh1 + i] + carry[i];
          dgh[i] = dh * (1.f - z) * (1.f - c * c);
          dzr[b * 2 * h + j] = dh * (Hp[i] - c) * z * (1.f - z);
          carry[i] = dh * z;
        }
      });
      d2l::rows_product(rows, B, h, h, dgh, h, PWhhT, dRH, h, false);
      d2l::for_rows(rows, [&](int b) {
        for (int j = 0; j < h; ++j) {
          const long i = b * h + j;
          const float r = zr[b * 2 * h + h + j];
          dzr[b * 2 * h + h + j] = dRH[i] * Hp[i] * r * (1.f - r);
          carry[i] += dRH[i] * r;
        }
      });
      d2l::rows_product(rows, B, h, 2 * h, dzr, 2 * h, PWzrT, carry, h, true);
    }
#pragma omp barrier

    // Weight gradients over all steps at once: dW_hzr = sum_t H_{t-1}^T dG_zr,t and
    // dW_hh = sum_t (R_t * H_{t-1})^T dH~_t.
    weight_gradient([&](long k) { return previous_hidden(k, T, B, h, reverse, H0, Y); }, dXZR,
                    TB, h, 2 * h, dWzr, PW);
    weight_gradient([&](long k) { return RH + k * h; }, dXH, TB, h, h, dWhh, PW);
    column_sums(dXZR, TB, 2 * h, dbzr);
    column_sums(dXH, TB, h, dbh);
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
  (*out)[1] = {B, h};
  return MX_SUCCESS;
}

}  // namespace

REGISTER_OP(d2l_gru_layer)
    .setParseAttrs(d2l::parse_attrs<7, 2>)
    .setInferType(infer_type)
    .setInferShape(infer_shape)
    .setCreateOpState(d2l::create_layer_state<GruLayer>, "cpu");
