// What every operator of this library declares the same way: its input and output counts,
// float32 as the only type, and how a flag attribute is read.
#ifndef D2L_RNN_OP_COMMON_H_
#define D2L_RNN_OP_COMMON_H_
#include <string>
#include <unordered_map>
#include <vector>
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

// A flag attribute: Python passes reverse=int(flag) as "1", a symbol file may hold "True".
inline bool bool_attr(const std::unordered_map<std::string, std::string>& attrs,
                      const char* name) {
  auto it = attrs.find(name);
  return it != attrs.end() && (it->second == "1" || it->second == "True" || it->second == "true");
}

}  // namespace d2l

#endif  // D2L_RNN_OP_COMMON_H_
