// Process-wide engine settings: threads, random seed, grad mode, autocast, devices, version.
#include "common.h"

#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>
#include <ATen/core/grad_mode.h>
#include <torch/csrc/api/include/torch/version.h>
#include <torch/cuda.h>

namespace perceptual {

namespace {

Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  int n = info[0].As<Napi::Number>().Int32Value();
  if (n < 1) throw Napi::RangeError::New(info.Env(), "setNumThreads: need at least 1 thread");
  at::set_num_threads(n);
  return info.Env().Undefined();
}

Napi::Value GetNumThreads(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), at::get_num_threads()); }

Napi::Value ManualSeed(const Napi::CallbackInfo& info) {
  at::manual_seed(static_cast<uint64_t>(info[0].As<Napi::Number>().Int64Value()));
  return info.Env().Undefined();
}

Napi::Value SetGradEnabled(const Napi::CallbackInfo& info) {
  bool prev = at::GradMode::is_enabled();
  at::GradMode::set_enabled(info[0].ToBoolean().Value());
  return Napi::Boolean::New(info.Env(), prev);
}

Napi::Value IsGradEnabled(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), at::GradMode::is_enabled()); }

// setAutocast(device: 'cpu' | 'cuda', enabled, dtype) → previous enabled state.
// Mirrors torch.autocast: convolutions and matmuls run in the low-precision dtype while
// parameters stay float32; the cast cache is cleared when the outermost region ends.
Napi::Value SetAutocast(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string device = info[0].As<Napi::String>().Utf8Value();
  bool enabled = info[1].ToBoolean().Value();
  at::ScalarType dtype = parseDtype(info.Length() > 2 && info[2].IsString() ? info[2].As<Napi::String>().Utf8Value() : "bfloat16");
  bool prev;
  if (device == "cpu") {
    prev = at::autocast::is_cpu_enabled();
    at::autocast::set_autocast_cpu_dtype(dtype);
    at::autocast::set_cpu_enabled(enabled);
  } else if (device == "cuda") {
    prev = at::autocast::is_enabled();
    at::autocast::set_autocast_gpu_dtype(dtype);
    at::autocast::set_enabled(enabled);
  } else {
    throw Napi::Error::New(env, "setAutocast: unknown device '" + device + "'");
  }
  if (!enabled && prev) at::autocast::clear_cache();
  return Napi::Boolean::New(env, prev);
}

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("libtorch", Napi::String::New(env, TORCH_VERSION));
  o.Set("threads", Napi::Number::New(env, at::get_num_threads()));
  o.Set("interopThreads", Napi::Number::New(env, at::get_num_interop_threads()));
  o.Set("cudaAvailable", Napi::Boolean::New(env, torch::cuda::is_available()));
  o.Set("cudaDevices", Napi::Number::New(env, static_cast<double>(torch::cuda::is_available() ? torch::cuda::device_count() : 0)));
  o.Set("mkldnn", Napi::Boolean::New(env, at::hasMKLDNN()));
  o.Set("openmp", Napi::Boolean::New(env, at::hasOpenMP()));
  o.Set("parallelInfo", Napi::String::New(env, at::get_parallel_info()));
  return o;
}

}  // namespace

void InitRuntime(Napi::Env env, Napi::Object exports) {
  exports.Set("setNumThreads", Napi::Function::New(env, SetNumThreads));
  exports.Set("getNumThreads", Napi::Function::New(env, GetNumThreads));
  exports.Set("manualSeed", Napi::Function::New(env, ManualSeed));
  exports.Set("setGradEnabled", Napi::Function::New(env, SetGradEnabled));
  exports.Set("isGradEnabled", Napi::Function::New(env, IsGradEnabled));
  exports.Set("setAutocast", Napi::Function::New(env, SetAutocast));
  exports.Set("info", Napi::Function::New(env, Info));
}

}  // namespace perceptual
