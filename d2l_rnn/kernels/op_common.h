// What every operator of this library declares the same way: its input and output counts,
// float32 as the only type, and how a flag attribute is read.
#ifndef D2L_RNN_OP_COMMON_H_
#define D2L_RNN_OP_COMMON_H_
#include <cstdlib>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>
#ifdef _OPENMP
#include <omp.h>
#endif
#include "mxnet/lib_api.h"

namespace d2l {

template <int NUM_IN, int NUM_OUT>
mxnet::ext::MXReturnValue parse_attrs(const std::unordered_map<std::string, std::string>&,
                                      int* num_in, int* num_out) {
  *num_in = NUM_IN;
  *num_out = NUM_OUT;
  return mxnet::ext::MX_SUCCESS;
}

// Every input must be float32 (the error names the operator and the input); so are the
// outputs.
inline mxnet::ext::MXReturnValue all_float32(const char* op, const std::vector<int>& in_types,
                                             std::vector<int>* out_types) {
  for (size_t i = 0; i < in_types.size(); ++i) {
    if (in_types[i] != mxnet::ext::kFloat32) {
      MX_ERROR_MSG << op << ": input " << i << " must be float32";
      return mxnet::ext::MX_FAIL;
    }
  }
  for (auto& t : *out_types) t = mxnet::ext::kFloat32;
  return mxnet::ext::MX_SUCCESS;
}

// An integer attribute (0 when absent).
inline int int_attr(const std::unordered_map<std::string, std::string>& attrs,
                    const char* name) {
  auto it = attrs.find(name);
  return it == attrs.end() ? 0 : std::atoi(it->second.c_str());
}

// A flag attribute: Python passes reverse=int(flag) as "1", a symbol file may hold "True".
inline bool bool_attr(const std::unordered_map<std::string, std::string>& attrs,
                      const char* name) {
  auto it = attrs.find(name);
  return it != attrs.end() && (it->second == "1" || it->second == "True" || it->second == "true");
}

// The number of threads of every parallel region of these operators. MXNet calls operators
// from its engine's worker threads, where OpenMP's default can be one thread (MXNet's own
// operators name their count in each parallel region), so a bare `omp parallel` here could
// run on one core (measured: an imperative call of the LSTM layer saw omp_get_max_threads()
// == 1 and took as long as with OMP_NUM_THREADS=1). The count is OMP_NUM_THREADS where the
// user set it, else every processor this process may run on.
inline int threads() {
#ifdef _OPENMP
  static const int n = [] {
    const char* env = std::getenv("OMP_NUM_THREADS");
    const int v = env ? std::atoi(env) : 0;
    return v > 0 ? v : omp_get_num_procs();
  }();
  return n;
#else
  return 1;
#endif
}

// What a layer's forward pass keeps for its backward pass (gates, cell states, ...), held by
// the operator's state: MXNet creates one state per forward call and hands it to that call's
// backward, so only the layer's results are operator outputs, and MXNet neither zero-fills
// gradients for the kept arrays nor adds them up. The buffers come from a process-wide free
// list: a fresh multi-MB allocation per minibatch would cost page faults of the order of
// the work it holds, and a buffer is never zero-filled (the forward pass writes all of it).
// The list keeps at most kKeep buffers and kKeepFloats floats (the oldest go first), so a
// process that ran a large model does not hold its buffers for good.
class Saved {
 public:
  Saved() = default;
  Saved(const Saved&) = delete;
  Saved& operator=(const Saved&) = delete;
  ~Saved() { release(); }

  // n floats (64-byte aligned), replacing what was kept before.
  float* get(size_t n) {
    release();
    std::lock_guard<std::mutex> lock(pool_mutex());
    auto& pool = free_list();
    size_t best = pool.size();
    for (size_t i = 0; i < pool.size(); ++i)
      if (pool[i].first >= n && (best == pool.size() || pool[i].first < pool[best].first))
        best = i;
    if (best < pool.size()) {
      buf_ = pool[best];
      pool.erase(pool.begin() + best);
    } else {
      const size_t bytes = ((n * sizeof(float) + 63) / 64) * 64;
      buf_ = {n, static_cast<float*>(std::aligned_alloc(64, bytes ? bytes : 64))};
    }
    return buf_.second;
  }

  float* data() const { return buf_.second; }

 private:
  static constexpr size_t kKeep = 64;  // deep bidirectional models hold several at once
  static constexpr size_t kKeepFloats = size_t(64) << 20;  // 256 MiB

  void release() {
    if (!buf_.second) return;
    std::lock_guard<std::mutex> lock(pool_mutex());
    auto& pool = free_list();
    pool.push_back(buf_);
    size_t kept = 0;
    for (const auto& b : pool) kept += b.first;
    while (!pool.empty() && (pool.size() > kKeep || kept > kKeepFloats)) {
      kept -= pool.front().first;
      std::free(pool.front().second);
      pool.erase(pool.begin());
    }
    buf_ = {0, nullptr};
  }
  static std::mutex& pool_mutex() {
    static std::mutex m;
    return m;
  }
  static std::vector<std::pair<size_t, float*>>& free_list() {
    static std::vector<std::pair<size_t, float*>> pool;
    return pool;
  }

  std::pair<size_t, float*> buf_{0, nullptr};
};

// The state of a layer operator (one per forward call): its direction, and what its forward
// pass keeps for its backward pass.
class LayerState : public mxnet::ext::CustomStatefulOp {
 public:
  explicit LayerState(bool reverse) : reverse_(reverse) {}

 protected:
  // n floats to keep for the backward pass; nullptr, with MXNet's error message set, if
  // they cannot be allocated.
  float* keep(const char* op, long n) {
    size_ = n;
    float* p = saved_.get(n);
    if (!p)
      MX_ERROR_MSG << op << ": out of memory for the " << n * sizeof(float) / (1 << 20)
                   << " MiB it keeps for the backward pass";
    return p;
  }

  // The n floats the forward pass kept; nullptr, with an error message, if it kept no n.
  const float* kept(const char* op, long n) const {
    if (!saved_.data() || size_ != n) {
      MX_ERROR_MSG << op << ": backward without its forward pass";
      return nullptr;
    }
    return saved_.data();
  }

  const bool reverse_;

 private:
  Saved saved_;
  long size_ = 0;
};

// The createOpState function of a layer operator whose state is Layer (a LayerState).
template <class Layer>
mxnet::ext::MXReturnValue create_layer_state(
    const std::unordered_map<std::string, std::string>& attrs, const mxnet::ext::MXContext&,
    const std::vector<std::vector<unsigned int>>&, const std::vector<int>,
    mxnet::ext::CustomStatefulOp** op) {
  *op = mxnet::ext::CustomStatefulOp::create<Layer>(bool_attr(attrs, "reverse"));
  return mxnet::ext::MX_SUCCESS;
}

}  // namespace d2l

#endif  // D2L_RNN_OP_COMMON_H_
