// The GRU layer of cuDNN and Gluon, all time steps in one MXNet operator (forward and
// backward).
//
// Same function as d2l_rnn.models.scratch.gru.gru_cudnn_recurrence, with fewer passes over
// memory:
//   Z_t  = sigmoid(X_t W_xz + H_{t-1} W_hz + b_z)     R_t = sigmoid(X_t W_xr + H_{t-1} W_hr + b_r)
//   A_t  = H_{t-1} W_hh + b_hh                        H~_t = tanh(X_t W_xh + b_h + R_t * A_t)
//   H_t  = Z_t * H_{t-1} + (1 - Z_t) * H~_t
// It differs from the book's GRU (gru_layer.cc) in the candidate only: the reset gate scales
// the hidden product after it is computed, so all three hidden products read H_{t-1}. A step
// is then one hidden product with W_h = [W_hz | W_hr | W_hh] (the register-blocked kernel of
// recurrent.h, W_h packed once per call) and one pass over the batch, forward and backward
// alike, each core owning its rows of the batch, as in lstm_layer.cc; the weight gradient is
// one large product over all steps after the backward loop instead of num_steps small ones.
//
// Backward, from the last step to the first, with dG_t = [dZ | dR | dA] the gradient of
// H_{t-1} W_h + [b_z | b_r | b_hh] (dZ and dR are also those of the input products X_t W_xz,
// X_t W_xr; dP that of X_t W_xh and b_h):
//   dH_t = dY_t + dH_{t+1} * Z_{t+1} + dG_{t+1} W_h^T
//   dP = dH_t * (1 - Z_t) * (1 - H~_t^2)       dZ = dH_t * (H_{t-1} - H~_t) * Z_t (1 - Z_t)
//   dR = dP * A_t * R_t (1 - R_t)              dA = dP * R_t
//   dW_h = sum_t H_{t-1}^T dG_t    [db_z | db_r | db_hh] = sum_t dG_t    db_h = sum_t dP_t
//
// Operator d2l_gru_cudnn_layer (attribute reverse = "0" | "1": run from the last step to the
// first)
//   inputs : XZR (T, B, 2h) = X W_xz | X W_xr,  XH (T, B, h) = X W_xh,  H0 (B, h),
//            W_h (h, 3h) = W_hz | W_hr | W_hh,  b (3h) = b_z | b_r | b_hh,  b_h (h)
//   outputs: Y (T, B, h) the hidden states, HN (B, h) the last step's.
// Stateful: the forward pass keeps G (T, B, 3h) = Z | R | A and HT (T, B, h) every H~_t in the
// operator's state (d2l::Saved) for its backward pass, which then evaluates no exp or tanh.
// Built by d2l_rnn/kernels/__init__.py (with the other .cc files) against MXNet's lib_api.

#include <string>
#include <vector>
#include "mxnet/lib_api.h"
#include "op_common.h"
#include "recurrent.h"

using namespace mxnet::ext;

namespace {

using d2l::act;
using d2l::act_sum;
using d2l::b_packed;
using d2l::column_sums;
using d2l::pack_b;
using d2l::previous_hidden;
using d2l::step_at;
using d2l::weight_gradient;
using d2l::weight_gradient_scratch;

// One row of the batch at one step, after the hidden product hw = H_{t-1} W_h: the gates
// g = Z | R | A, then H~_t and H_t.
void cell_forward(int h, const float* __restrict hw, const float* __restrict xzr,
                  const float* __restrict xh, const float* __restrict bias,
                  const float* __restrict bh, const float* __restrict hp,
                  float* __restrict g, float* __restrict ht, float* __restrict y) {
  act_sum<false>(hw, xzr, bias, g, 2 * h);
  const float *Z = g, *R = g + h;
  float* A = g + 2 * h;
  for (int j = 0; j < h; ++j) {
    A[j] = hw[2 * h + j] + bias[2 * h + j];
    ht[j] = xh[j] + bh[j] + R[j] * A[j];
  }
  act<true>(ht, ht, h);
  for (int j = 0; j < h; ++j) y[j] = ht[j] + Z[j] * (hp[j] - ht[j]);
}

// The same row backward: carry (in: dH_{t+1} Z_{t+1} + dG_{t+1} W_h^T; out: dH_t Z_t, to
// which the step's product adds dG_t W_h^T) carries the gradient between steps; dg gets
// [dZ | dR | dA], dzr [dZ | dR] (the gradient of XZR), dp that of XH.
void cell_backward(int h, const float* __restrict g, const float* __restrict ht,
                   const float* __restrict hp, const float* __restrict dy,
                   float* __restrict carry, float* __restrict dg, float* __restrict dzr,
                   float* __restrict dp) {
  const float *Z = g, *R = g + h, *A = g + 2 * h;
  for (int j = 0; j < h; ++j) {
    const float dh = dy[j] + carry[j];
    const float p = dh * (1.f - Z[j]) * (1.f - ht[j] * ht[j]);
    const float dz = dh * (hp[j] - ht[j]) * Z[j] * (1.f - Z[j]);
    const float dr = p * A[j] * R[j] * (1.f - R[j]);
    dp[j] = p;
    dg[j] = dzr[j] = dz;
    dg[h + j] = dzr[h + j] = dr;
    dg[2 * h + j] = p * R[j];
    carry[j] = dh * Z[j];
  }
}

// One forward call and its backward pass (MXNet creates a state per forward call); the
// forward pass keeps G | HT.
class GruCudnnLayer : public d2l::LayerState {
 public:
  using LayerState::LayerState;
  MXReturnValue Forward(std::vector<MXTensor>* inputs, std::vector<MXTensor>* outputs,
                        const OpResource& res) override;
  MXReturnValue Backward(std::vector<MXTensor>* inputs, std::vector<MXTensor>* outputs,
                         const OpResource& res) override;
};

MXReturnValue GruCudnnLayer::Forward(std::vector<MXTensor>* inputs,
                                     std::vector<MXTensor>* outputs, const OpResource& res) {
  const int T = (*inputs)[0].shape[0], B = (*inputs)[0].shape[1], h = (*inputs)[2].shape[1];
  const float* XZR = (*inputs)[0].data<float>();
  const float* XH = (*inputs)[1].data<float>();
  const float* H0 = (*inputs)[2].data<float>();
  const float* Wh = (*inputs)[3].data<float>();
  const float* bias = (*inputs)[4].data<float>();
  const float* bh = (*inputs)[5].data<float>();
  float* Y = (*outputs)[0].data<float>();
  float* HN = (*outputs)[1].data<float>();
  const bool reverse = reverse_;
  const long bh1 = (long)B * h, bh2 = 2 * bh1, bh3 = 3 * bh1;
  const int h3 = 3 * h;
  float* G = keep("d2l_gru_cudnn_layer", 4 * T * bh1);
  if (!G) return MX_FAIL;
  float* HT = G + T * bh3;
  // Scratch: W_h packed, and the step's hidden product, which stays in cache for the pass.
  float* PW = static_cast<float*>(res.alloc_cpu(sizeof(float) * (b_packed(h, h3) + bh3)));
  float* HW = PW + b_packed(h, h3);

#pragma omp parallel num_threads(d2l::threads())
  {
    pack_b(Wh, h3, 1, h, h3, PW);
    const d2l::Rows rows = d2l::rows_of_thread(B);
    for (int s = 0; s < T; ++s) {
      const int t = step_at(s, T, reverse);
      const float* Hp = s == 0 ? H0 : Y + step_at(s - 1, T, reverse) * bh1;
      d2l::rows_product(rows, B, h3, h, Hp, h, PW, HW, h3, false);
      d2l::for_rows(rows, [&](int b) {
        const long r = t * bh1 + b * h;
        cell_forward(h, HW + b * h3, XZR + t * bh2 + b * 2 * h, XH + r, bias, bh, Hp + b * h,
                     G + t * bh3 + b * h3, HT + r, Y + r);
      });
    }
#pragma omp barrier
    const float* last = Y + step_at(T - 1, T, reverse) * bh1;
#pragma omp for schedule(static)
    for (long i = 0; i < bh1; ++i) HN[i] = last[i];
  }
  return MX_SUCCESS;
}

// Inputs: the gradients of the 2 outputs, the 6 inputs, the 2 outputs.
// Outputs: the gradients of the 6 inputs.
MXReturnValue GruCudnnLayer::Backward(std::vector<MXTensor>* inputs,
                                      std::vector<MXTensor>* outputs, const OpResource& res) {
  const float* dY = (*inputs)[0].data<float>();
  const float* dHN = (*inputs)[1].data<float>();
  const int T = (*inputs)[2].shape[0], B = (*inputs)[2].shape[1], h = (*inputs)[4].shape[1];
  const float* H0 = (*inputs)[4].data<float>();
  const float* Wh = (*inputs)[5].data<float>();
  const float* Y = (*inputs)[8].data<float>();
  float* dXZR = (*outputs)[0].data<float>();
  float* dXH = (*outputs)[1].data<float>();
  float* dH0 = (*outputs)[2].data<float>();
  float* dWh = (*outputs)[3].data<float>();
  float* db = (*outputs)[4].data<float>();
  float* dbh = (*outputs)[5].data<float>();
  const bool reverse = reverse_;
  const long bh1 = (long)B * h, bh2 = 2 * bh1, bh3 = 3 * bh1;
  const int h3 = 3 * h;
  const float* G = kept("d2l_gru_cudnn_layer", 4 * T * bh1);
  if (!G) return MX_FAIL;
  const float* HT = G + T * bh3;

  // Scratch, packed: W_h^T and a step's dG for the steps; the chunks of dW_h's product.
  // Unpacked: dG of every step, (T, B, 3h) (its dZ | dR part is also written to dXZR; dA is
  // the gradient of no input).
  const int TB = T * B;
  float* PWT = static_cast<float*>(res.alloc_cpu(sizeof(float) * (
      b_packed(h3, h) + d2l::a_packed_rows(B, h3) + weight_gradient_scratch(h, h3) +
      TB * (long)h3)));
  float* PS = PWT + b_packed(h3, h);
  float* PW = PS + d2l::a_packed_rows(B, h3);
  float* DG = PW + weight_gradient_scratch(h, h3);
  float* carry = dH0;  // the gradient reaching H_{t-1}; after the loop, H0's

#pragma omp parallel num_threads(d2l::threads())
  {
    pack_b(Wh, 1, h3, h3, h, PWT);
#pragma omp for schedule(static)
    for (long i = 0; i < bh1; ++i) carry[i] = dHN[i];  // beyond the last step: the final state's
    const d2l::Rows rows = d2l::rows_of_thread(B);
    for (int s = T - 1; s >= 0; --s) {
      const int t = step_at(s, T, reverse);
      const float* Hp = s == 0 ? H0 : Y + step_at(s - 1, T, reverse) * bh1;
      d2l::for_rows(rows, [&](int b) {
        const long r = t * bh1 + b * h;
        cell_backward(h, G + t * bh3 + b * h3, HT + r, Hp + b * h, dY + r, carry + b * h,
                      DG + t * bh3 + b * h3, dXZR + t * bh2 + b * 2 * h, dXH + r);
      });
      d2l::rows_product_packed(rows, B, h, h3, DG + t * bh3, h3, PS, PWT, carry, h, true);
    }
#pragma omp barrier

    // dW_h = sum_t H_{t-1}^T dG_t over all steps at once.
    weight_gradient([&](long k) { return previous_hidden(k, T, B, h, reverse, H0, Y); }, DG,
                    TB, h, h3, dWh, PW);
    column_sums(DG, TB, h3, db);
    column_sums(dXH, TB, h, dbh);
  }
  return MX_SUCCESS;
}

MXReturnValue infer_type(const std::unordered_map<std::string, std::string>& attrs,
                         std::vector<int>* in_types, std::vector<int>* out_types) {
  return d2l::all_float32("d2l_gru_cudnn_layer", *in_types, out_types);
}

MXReturnValue infer_shape(const std::unordered_map<std::string, std::string>& attrs,
                          std::vector<std::vector<unsigned int>>* in,
                          std::vector<std::vector<unsigned int>>* out) {
  const auto& xzr = (*in)[0];
  const auto& xh = (*in)[1];
  if (xzr.size() != 3 || xh.size() != 3 || xzr[0] != xh[0] || xzr[1] != xh[1] ||
      xzr[2] != 2 * xh[2]) {
    MX_ERROR_MSG << "d2l_gru_cudnn_layer: expected XZR (T, B, 2h) and XH (T, B, h)";
    return MX_FAIL;
  }
  const unsigned T = xh[0], B = xh[1], h = xh[2];
  const std::vector<std::vector<unsigned int>> expect = {{B, h}, {h, 3 * h}, {3 * h}, {h}};
  for (size_t i = 0; i < expect.size(); ++i) {
    if ((*in)[i + 2] != expect[i]) {
      MX_ERROR_MSG << "d2l_gru_cudnn_layer: input " << i + 2 << " has the wrong shape";
      return MX_FAIL;
    }
  }
  (*out)[0] = {T, B, h};
  (*out)[1] = {B, h};
  return MX_SUCCESS;
}

}  // namespace

REGISTER_OP(d2l_gru_cudnn_layer)
    .setParseAttrs(d2l::parse_attrs<6, 2>)
    .setInferType(infer_type)
    .setInferShape(infer_shape)
    .setCreateOpState(d2l::create_layer_state<GruCudnnLayer>, "cpu");
