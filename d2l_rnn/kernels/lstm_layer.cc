// The book's LSTM layer, all time steps in one MXNet operator (forward and backward).
//
// Same function as d2l_rnn.models.scratch.lstm.lstm_recurrence, with fewer passes over memory:
//   I_t  = sigmoid(X_t W_xi + H_{t-1} W_hi + b_i)     F_t = sigmoid(X_t W_xf + H_{t-1} W_hf + b_f)
//   O_t  = sigmoid(X_t W_xo + H_{t-1} W_ho + b_o)     C_t = F_t * C_{t-1} + I_t * C~_t
//   C~_t = tanh(X_t W_xc + H_{t-1} W_hc + b_c)        H_t = O_t * tanh(C_t)
// The input products X_t W_x* (a row lookup for token indices) stay in the MXNet graph; this
// operator runs the recurrence. All four gates read only H_{t-1}, so a step is one hidden
// product with W_h = [W_hi | W_hf | W_ho | W_hc] (the register-blocked kernel of recurrent.h,
// W_h packed once per call) and one pass over the batch, forward and backward alike, each
// core owning its rows of the batch for all the steps (recurrent.h: Rows); the weight
// gradient is one large product over all steps after the backward loop instead of num_steps
// small ones.
//
// Backward, from the last step to the first, with dG_t = [dI | dF | dO | dC~] the gradient
// before the activations (which is also that of the input products X_t W_x*):
//   dH_t = dY_t + dG_{t+1} W_h^T
//   dC_t = dC_{t+1} * F_{t+1} + dH_t * O_t * (1 - tanh(C_t)^2)     (dC_T from the output C_T)
//   dI = dC_t * C~_t * I_t (1 - I_t)        dF = dC_t * C_{t-1} * F_t (1 - F_t)
//   dO = dH_t * tanh(C_t) * O_t (1 - O_t)   dC~ = dC_t * I_t * (1 - C~_t^2)
//   dW_h = sum_t H_{t-1}^T dG_t             db = sum_t dG_t
//
// Operator d2l_lstm_layer (attribute reverse = "0" | "1": run from the last step to the first)
//   inputs : XW (T, B, 4h) = X W_xi | X W_xf | X W_xo | X W_xc,  H0 (B, h),  C0 (B, h),
//            W_h (h, 4h) = W_hi | W_hf | W_ho | W_hc,  b (4h) = b_i | b_f | b_o | b_c
//   outputs: Y (T, B, h) the hidden states, HT (B, h) and CT (B, h) the last step's H and C.
// Stateful: the forward pass keeps G (T, B, 4h) the gates I | F | O | C~, C (T, B, h) every
// C_t and TC (T, B, h) tanh(C_t) in the operator's state (d2l::Saved) for its backward pass,
// which then evaluates no exp or tanh at all.
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
// g = I | F | O | C~, then C_t, tanh(C_t) and H_t.
void cell_forward(int h, const float* __restrict hw, const float* __restrict x,
                  const float* __restrict bias, const float* __restrict cp,
                  float* __restrict g, float* __restrict c, float* __restrict tc,
                  float* __restrict y) {
  act_sum<false>(hw, x, bias, g, 3 * h);
  act_sum<true>(hw + 3 * h, x + 3 * h, bias + 3 * h, g + 3 * h, h);
  const float *I = g, *F = g + h, *O = g + 2 * h, *Cc = g + 3 * h;
  for (int j = 0; j < h; ++j) c[j] = F[j] * cp[j] + I[j] * Cc[j];
  act<true>(c, tc, h);
  for (int j = 0; j < h; ++j) y[j] = O[j] * tc[j];
}

// The same row backward: dh_next (= dG_{t+1} W_h^T) and dc (in: dC_{t+1} F_{t+1}, out:
// dC_t F_t) carry the gradient between steps; dg gets [dI | dF | dO | dC~].
void cell_backward(int h, const float* __restrict g, const float* __restrict tc,
                   const float* __restrict cp, const float* __restrict dy,
                   const float* __restrict dh_next, float* __restrict dc,
                   float* __restrict dg) {
  const float *I = g, *F = g + h, *O = g + 2 * h, *Cc = g + 3 * h;
  float *dI = dg, *dF = dg + h, *dO = dg + 2 * h, *dCc = dg + 3 * h;
  for (int j = 0; j < h; ++j) {
    const float dh = dy[j] + dh_next[j];
    const float dct = dc[j] + dh * O[j] * (1.f - tc[j] * tc[j]);
    dI[j] = dct * Cc[j] * I[j] * (1.f - I[j]);
    dF[j] = dct * cp[j] * F[j] * (1.f - F[j]);
    dO[j] = dh * tc[j] * O[j] * (1.f - O[j]);
    dCc[j] = dct * I[j] * (1.f - Cc[j] * Cc[j]);
    dc[j] = dct * F[j];
  }
}

// One forward call and its backward pass (MXNet creates a state per forward call); the
// forward pass keeps G | C | TC.
class LstmLayer : public d2l::LayerState {
 public:
  using LayerState::LayerState;
  MXReturnValue Forward(std::vector<MXTensor>* inputs, std::vector<MXTensor>* outputs,
                        const OpResource& res) override;
  MXReturnValue Backward(std::vector<MXTensor>* inputs, std::vector<MXTensor>* outputs,
                         const OpResource& res) override;
};

MXReturnValue LstmLayer::Forward(std::vector<MXTensor>* inputs, std::vector<MXTensor>* outputs,
                                 const OpResource& res) {
  const int T = (*inputs)[0].shape[0], B = (*inputs)[0].shape[1], h = (*inputs)[1].shape[1];
  const float* XW = (*inputs)[0].data<float>();
  const float* H0 = (*inputs)[1].data<float>();
  const float* C0 = (*inputs)[2].data<float>();
  const float* Wh = (*inputs)[3].data<float>();
  const float* bias = (*inputs)[4].data<float>();
  float* Y = (*outputs)[0].data<float>();
  float* HT = (*outputs)[1].data<float>();
  float* CT = (*outputs)[2].data<float>();
  const bool reverse = reverse_;
  const long bh1 = (long)B * h, bh4 = 4 * bh1;
  const int h4 = 4 * h;
  float* G = keep("d2l_lstm_layer", T * (bh4 + 2 * bh1));
  if (!G) return MX_FAIL;
  float* C = G + T * bh4;
  float* TC = C + T * bh1;
  // Scratch: W_h packed, and the step's hidden product, which stays in cache for the pass
  // (written straight into G it would cost a cold write and a read more).
  float* PW = static_cast<float*>(res.alloc_cpu(sizeof(float) * (b_packed(h, h4) + bh4)));
  float* HW = PW + b_packed(h, h4);

#pragma omp parallel num_threads(d2l::threads())
  {
    pack_b(Wh, h4, 1, h, h4, PW);
    const d2l::Rows rows = d2l::rows_of_thread(B);
    for (int s = 0; s < T; ++s) {
      const int t = step_at(s, T, reverse), prev = s == 0 ? 0 : step_at(s - 1, T, reverse);
      const float* Hp = s == 0 ? H0 : Y + prev * bh1;
      const float* Cp = s == 0 ? C0 : C + prev * bh1;
      float* g = G + t * bh4;
      d2l::rows_product(rows, B, h4, h, Hp, h, PW, HW, h4, false);
      d2l::for_rows(rows, [&](int b) {
        const long r = t * bh1 + b * h;
        cell_forward(h, HW + b * h4, XW + t * bh4 + b * h4, bias, Cp + b * h, g + b * h4,
                     C + r, TC + r, Y + r);
      });
    }
#pragma omp barrier
    const long last = step_at(T - 1, T, reverse) * bh1;
#pragma omp for schedule(static)
    for (long i = 0; i < bh1; ++i) {
      HT[i] = Y[last + i];
      CT[i] = C[last + i];
    }
  }
  return MX_SUCCESS;
}

// Inputs: the gradients of the 3 outputs, the 5 inputs, the 3 outputs. Outputs: the
// gradients of the 5 inputs.
MXReturnValue LstmLayer::Backward(std::vector<MXTensor>* inputs, std::vector<MXTensor>* outputs,
                                  const OpResource& res) {
  const float* dY = (*inputs)[0].data<float>();
  const float* dHT = (*inputs)[1].data<float>();
  const float* dCT = (*inputs)[2].data<float>();
  const int T = (*inputs)[3].shape[0], B = (*inputs)[3].shape[1], h = (*inputs)[4].shape[1];
  const float* H0 = (*inputs)[4].data<float>();
  const float* C0 = (*inputs)[5].data<float>();
  const float* Wh = (*inputs)[6].data<float>();
  const float* Y = (*inputs)[8].data<float>();
  float* dXW = (*outputs)[0].data<float>();
  float* dH0 = (*outputs)[1].data<float>();
  float* dC0 = (*outputs)[2].data<float>();
  float* dWh = (*outputs)[3].data<float>();
  float* db = (*outputs)[4].data<float>();
  const bool reverse = reverse_;
  const long bh1 = (long)B * h, bh4 = 4 * bh1;
  const int h4 = 4 * h;
  const float* G = kept("d2l_lstm_layer", T * (bh4 + 2 * bh1));
  if (!G) return MX_FAIL;
  const float* C = G + T * bh4;
  const float* TC = C + T * bh1;

  // Scratch, packed: W_h^T and a step's dG for the steps; the chunks of dW_h's product.
  const int TB = T * B;
  float* PWT = static_cast<float*>(res.alloc_cpu(sizeof(float) * (
      b_packed(h4, h) + d2l::a_packed_rows(B, h4) + weight_gradient_scratch(h, h4))));
  float* PS = PWT + b_packed(h4, h);
  float* PW = PS + d2l::a_packed_rows(B, h4);
  // The gradients reaching H_{t-1} and C_{t-1}; after the loop, H0's and C0's.
  float* carry_h = dH0;
  float* carry_c = dC0;

#pragma omp parallel num_threads(d2l::threads())
  {
    pack_b(Wh, 1, h4, h4, h, PWT);
#pragma omp for schedule(static)
    for (long i = 0; i < bh1; ++i) {
      carry_h[i] = dHT[i];  // beyond the last step, only what reaches the final state
      carry_c[i] = dCT[i];
    }
    const d2l::Rows rows = d2l::rows_of_thread(B);
    for (int s = T - 1; s >= 0; --s) {
      const int t = step_at(s, T, reverse);
      const float* Cp = s == 0 ? C0 : C + step_at(s - 1, T, reverse) * bh1;
      d2l::for_rows(rows, [&](int b) {
        const long r = t * bh1 + b * h;
        cell_backward(h, G + t * bh4 + b * h4, TC + r, Cp + b * h, dY + r, carry_h + b * h,
                      carry_c + b * h, dXW + t * bh4 + b * h4);
      });
      d2l::rows_product_packed(rows, B, h, h4, dXW + t * bh4, h4, PS, PWT, carry_h, h, false);
    }
#pragma omp barrier

    // dW_h = sum_t H_{t-1}^T dG_t over all steps at once.
    weight_gradient([&](long k) { return previous_hidden(k, T, B, h, reverse, H0, Y); }, dXW,
                    TB, h, h4, dWh, PW);
    column_sums(dXW, TB, h4, db);
  }
  return MX_SUCCESS;
}

MXReturnValue infer_type(const std::unordered_map<std::string, std::string>& attrs,
                         std::vector<int>* in_types, std::vector<int>* out_types) {
  return d2l::all_float32("d2l_lstm_layer", *in_types, out_types);
}

MXReturnValue infer_shape(const std::unordered_map<std::string, std::string>& attrs,
                          std::vector<std::vector<unsigned int>>* in,
                          std::vector<std::vector<unsigned int>>* out) {
  const auto& xw = (*in)[0];
  const auto& h0 = (*in)[1];
  if (xw.size() != 3 || h0.size() != 2 || xw[1] != h0[0] || xw[2] != 4 * h0[1]) {
    MX_ERROR_MSG << "d2l_lstm_layer: expected XW (T, B, 4h) and H0 (B, h)";
    return MX_FAIL;
  }
  const unsigned T = xw[0], B = xw[1], h = h0[1];
  const std::vector<std::vector<unsigned int>> expect = {{B, h}, {h, 4 * h}, {4 * h}};
  for (size_t i = 0; i < expect.size(); ++i) {
    if ((*in)[i + 2] != expect[i]) {
      MX_ERROR_MSG << "d2l_lstm_layer: input " << i + 2 << " has the wrong shape";
      return MX_FAIL;
    }
  }
  (*out)[0] = {T, B, h};
  (*out)[1] = {B, h};
  (*out)[2] = {B, h};
  return MX_SUCCESS;
}

}  // namespace

REGISTER_OP(d2l_lstm_layer)
    .setParseAttrs(d2l::parse_attrs<5, 3>)
    .setInferType(infer_type)
    .setInferShape(infer_shape)
    .setCreateOpState(d2l::create_layer_state<LstmLayer>, "cpu");
