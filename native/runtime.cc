// Process-wide engine settings: threads, random seed, grad mode, autocast, devices, version.
#include "common.h"

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>
#include <ATen/core/grad_mode.h>
#include <torch/csrc/api/include/torch/version.h>
#include <torch/cuda.h>

namespace perceptual {

namespace {

bool g_oneDnnBf16Allowed = true;

Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  int64_t n = integerArg(info, 0, "setNumThreads", "the thread count", 1, 4096);
  return guarded(info.Env(), "setNumThreads(" + std::to_string(n) + ")", [&] {
    at::set_num_threads(static_cast<int>(n));
    return info.Env().Undefined();
  });
}

Napi::Value GetNumThreads(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), at::get_num_threads()); }

Napi::Value ManualSeed(const Napi::CallbackInfo& info) {
  // ±(2^53 − 1): the integers a JS number holds exactly; negative seeds wrap as in PyTorch.
  int64_t seed = integerArg(info, 0, "manualSeed", "the seed", -9007199254740991LL, 9007199254740991LL);
  return guarded(info.Env(), "manualSeed(" + std::to_string(seed) + ")", [&] {
    at::manual_seed(static_cast<uint64_t>(seed));
    return info.Env().Undefined();
  });
}

Napi::Value SetGradEnabled(const Napi::CallbackInfo& info) {
  if (!info[0].IsBoolean()) throw Napi::TypeError::New(info.Env(), "setGradEnabled: enabled must be a boolean");
  bool prev = at::GradMode::is_enabled();
  at::GradMode::set_enabled(info[0].As<Napi::Boolean>().Value());
  return Napi::Boolean::New(info.Env(), prev);
}

Napi::Value IsGradEnabled(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), at::GradMode::is_enabled()); }

// setAutocast(device: 'cpu' | 'cuda', enabled, dtype) → previous enabled state.
// Mirrors torch.autocast: convolutions and matmuls run in the low-precision dtype while
// parameters stay float32; the cast cache is cleared when the outermost region ends.
Napi::Value SetAutocast(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string device = stringArg(info, 0, "setAutocast", "device");
  if (!info[1].IsBoolean()) throw Napi::TypeError::New(env, "setAutocast('" + device + "'): enabled must be a boolean");
  bool enabled = info[1].As<Napi::Boolean>().Value();
  std::string dtypeName = info.Length() > 2 && !info[2].IsUndefined() ? stringArg(info, 2, "setAutocast", "dtype") : "bfloat16";
  return guarded(env, "setAutocast('" + device + "', " + (enabled ? "true" : "false") + ", '" + dtypeName + "')", [&] {
    at::ScalarType dtype = parseDtype(dtypeName);
    if (dtype != at::kBFloat16 && dtype != at::kHalf) throw std::invalid_argument("autocast dtype must be bfloat16 or float16");
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
      throw std::invalid_argument("unknown device '" + device + "' (cpu, cuda)");
    }
    if (!enabled && prev) at::autocast::clear_cache();
    return Napi::Boolean::New(env, prev);
  });
}

// setOneDnnBf16(allowed) → previous value. See OneDnnBf16Guard (common.h).
Napi::Value SetOneDnnBf16(const Napi::CallbackInfo& info) {
  if (!info[0].IsBoolean()) throw Napi::TypeError::New(info.Env(), "setOneDnnBf16: allowed must be a boolean");
  bool prev = g_oneDnnBf16Allowed;
  g_oneDnnBf16Allowed = info[0].As<Napi::Boolean>().Value();
  return Napi::Boolean::New(info.Env(), prev);
}

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, "info", [&] {
  Napi::Object o = Napi::Object::New(env);
  o.Set("libtorch", Napi::String::New(env, TORCH_VERSION));
  o.Set("threads", Napi::Number::New(env, at::get_num_threads()));
  o.Set("interopThreads", Napi::Number::New(env, at::get_num_interop_threads()));
  o.Set("cudaAvailable", Napi::Boolean::New(env, torch::cuda::is_available()));
  o.Set("cudaDevices", Napi::Number::New(env, static_cast<double>(torch::cuda::is_available() ? torch::cuda::device_count() : 0)));
  o.Set("mkldnn", Napi::Boolean::New(env, at::hasMKLDNN()));
  o.Set("openmp", Napi::Boolean::New(env, at::hasOpenMP()));
  o.Set("parallelInfo", Napi::String::New(env, at::get_parallel_info()));
  o.Set("oneDnnBf16", Napi::Boolean::New(env, g_oneDnnBf16Allowed));
  return o;
  });
}

}  // namespace

bool oneDnnBf16Allowed() { return g_oneDnnBf16Allowed; }
void setOneDnnBf16Allowed(bool allowed) { g_oneDnnBf16Allowed = allowed; }

OneDnnBf16Guard::OneDnnBf16Guard(bool bf16Possible) {
  if (g_oneDnnBf16Allowed || !bf16Possible) return;
  prev_ = at::globalContext().userEnabledMkldnn();
  at::globalContext().setUserEnabledMkldnn(false);
  restore_ = true;
}

OneDnnBf16Guard::~OneDnnBf16Guard() {
  if (restore_) at::globalContext().setUserEnabledMkldnn(prev_);
}

void InitRuntime(Napi::Env env, Napi::Object exports) {
  exports.Set("setNumThreads", Napi::Function::New(env, SetNumThreads));
  exports.Set("getNumThreads", Napi::Function::New(env, GetNumThreads));
  exports.Set("manualSeed", Napi::Function::New(env, ManualSeed));
  exports.Set("setGradEnabled", Napi::Function::New(env, SetGradEnabled));
  exports.Set("isGradEnabled", Napi::Function::New(env, IsGradEnabled));
  exports.Set("setAutocast", Napi::Function::New(env, SetAutocast));
  exports.Set("setOneDnnBf16", Napi::Function::New(env, SetOneDnnBf16));
  exports.Set("info", Napi::Function::New(env, Info));
}

}  // namespace perceptual
