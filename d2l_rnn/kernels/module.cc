// The library's entry point for mx.library.load: it checks the MXNet version. The operators
// register themselves (REGISTER_OP) in gru_layer.cc, lstm_layer.cc, gru_cudnn_layer.cc,
// softmax_ce.cc and sgd.cc.
#include "mxnet/lib_api.h"

mxnet::ext::MXReturnValue initialize(int version) {
  // lib_api's ABI as of MXNet 1.9.
  return version >= 10900 ? mxnet::ext::MX_SUCCESS : mxnet::ext::MX_FAIL;
}
