// Entry point of the `perceptual` native addon: libtorch tensors, ops, autograd and
// optimizers for TypeScript. See src/engine/ for the typed API built on it.
#include "common.h"

namespace perceptual {

void InitDistributed(Napi::Env env, Napi::Object exports);  // distributed.cc (c10d: TCPStore + gloo)

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto* data = new AddonData();
  env.SetInstanceData<AddonData>(data);
  Napi::Function tensor = TensorWrap::Init(env);
  data->tensorCtor = Napi::Persistent(tensor);
  exports.Set("Tensor", tensor);
  InitOps(env, exports);
  InitRuntime(env, exports);
  InitOptim(env, exports, data);
  InitDistributed(env, exports);
  return exports;
}

}  // namespace perceptual

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return perceptual::Init(env, exports); }

NODE_API_MODULE(perceptual_native, InitAddon)
