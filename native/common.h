// Shared pieces of the addon: the Tensor wrapper class, argument parsing for ops, and the
// conversion of C++ exceptions into JavaScript Errors that name the operation and the shapes.
//
// The addon is deliberately thin: a JS Tensor object owns one at::Tensor; every op takes
// its arguments as a JS array and returns new Tensor objects. All policy (scopes, modules,
// losses, defaults) lives in TypeScript.
#pragma once

#define NAPI_VERSION 8
#include <napi.h>
#include <ATen/ATen.h>

#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace perceptual {

// A JS object that owns one at::Tensor (undefined once disposed).
class TensorWrap : public Napi::ObjectWrap<TensorWrap> {
 public:
  static Napi::Function Init(Napi::Env env);
  static Napi::Object NewInstance(Napi::Env env, at::Tensor t);
  static bool IsInstance(Napi::Env env, const Napi::Value& v);
  explicit TensorWrap(const Napi::CallbackInfo& info);

  at::Tensor tensor;

 private:
  Napi::Value Shape(const Napi::CallbackInfo& info);
  Napi::Value Strides(const Napi::CallbackInfo& info);
  Napi::Value Dtype(const Napi::CallbackInfo& info);
  Napi::Value Device(const Napi::CallbackInfo& info);
  Napi::Value Numel(const Napi::CallbackInfo& info);
  Napi::Value Disposed(const Napi::CallbackInfo& info);
  Napi::Value GetRequiresGrad(const Napi::CallbackInfo& info);
  void SetRequiresGrad(const Napi::CallbackInfo& info, const Napi::Value& v);
  Napi::Value Grad(const Napi::CallbackInfo& info);
  Napi::Value IsChannelsLast(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  Napi::Value ZeroGrad(const Napi::CallbackInfo& info);
  Napi::Value Backward(const Napi::CallbackInfo& info);
  Napi::Value ToArray(const Napi::CallbackInfo& info);
  Napi::Value Item(const Napi::CallbackInfo& info);
  Napi::Value NBytes(const Napi::CallbackInfo& info);
};

// Per-addon state (constructors) kept as Node-API instance data, so that worker threads
// loading the addon each get their own.
struct AddonData {
  Napi::FunctionReference tensorCtor;
  Napi::FunctionReference adamCtor;
  Napi::FunctionReference lbfgsCtor;
};

std::string dtypeName(at::ScalarType t);
at::ScalarType parseDtype(const std::string& s);
std::string describe(const at::Tensor& t);

// Parses the positional argument array of one op call, with errors that name the op and
// the argument.
class Args {
 public:
  Args(Napi::Env env, std::string op, Napi::Array arr) : env_(env), op_(std::move(op)), arr_(arr) {}
  size_t size() const { return arr_.Length(); }
  bool has(size_t i) const;  // present and not null/undefined
  at::Tensor T(size_t i) const;
  c10::optional<at::Tensor> OT(size_t i) const;
  std::vector<at::Tensor> TV(size_t i) const;
  int64_t I(size_t i) const;
  c10::optional<int64_t> OI(size_t i) const;
  std::vector<int64_t> IV(size_t i) const;
  c10::optional<std::vector<int64_t>> OIV(size_t i) const;
  double D(size_t i) const;
  c10::optional<double> OD(size_t i) const;
  std::vector<double> DV(size_t i) const;
  bool B(size_t i) const;
  std::string S(size_t i) const;
  at::Scalar Sc(size_t i) const;
  bool isTensor(size_t i) const;
  // Whether any tensor argument (or tensor in an array argument) is bfloat16.
  bool anyBf16() const;
  [[noreturn]] void fail(size_t i, const std::string& what) const;
  // "conv2d(input [1,3,8,8] float32, [32,3,9,9] float32, 1, ...)" for error messages.
  std::string signature() const;
  const std::string& op() const { return op_; }
  Napi::Env env() const { return env_; }

 private:
  Napi::Value at(size_t i) const { return arr_.Get(static_cast<uint32_t>(i)); }
  Napi::Env env_;
  std::string op_;
  Napi::Array arr_;
};

// Runs fn, turning any C++ exception (c10::Error, std::exception) into a JS Error whose
// message starts with the op and its argument shapes. A JS exception raised inside (e.g. by
// an L-BFGS closure) passes through unchanged.
// Every entry point of the addon runs its libtorch calls through this (or through op()'s
// equivalent); a C++ exception escaping to Node-API would otherwise abort the process.
template <typename F>
auto guarded(Napi::Env env, const std::string& context, F&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const Napi::Error&) {
    throw;
  } catch (const c10::Error& e) {
    std::string msg = e.what_without_backtrace();
    throw Napi::Error::New(env, context + ": " + msg);
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, context + ": " + e.what());
  } catch (...) {
    throw Napi::Error::New(env, context + ": unknown C++ exception");
  }
}

// Argument checks for the entry points that take plain JS values (not op()'s argument array):
// a TypeError/RangeError that names the entry point and the argument.
double numberArg(const Napi::CallbackInfo& info, size_t i, const std::string& op, const std::string& name);
int64_t integerArg(const Napi::CallbackInfo& info, size_t i, const std::string& op, const std::string& name, int64_t min, int64_t max);
std::string stringArg(const Napi::CallbackInfo& info, size_t i, const std::string& op, const std::string& name);

// Whether libtorch may run bfloat16 work through oneDNN (mkldnn). libtorch decides from the
// CPU's AVX-512 flags alone; when ONEDNN_MAX_CPU_ISA caps oneDNN below AVX-512 (or
// ATEN_CPU_CAPABILITY caps ATen at AVX2, emulating a CPU without AVX-512), the engine turns
// oneDNN off around bf16 work instead — exactly the path libtorch takes on an AVX2-only CPU.
// Set from TypeScript (src/engine/cpu.ts decides), default true.
bool oneDnnBf16Allowed();
void setOneDnnBf16Allowed(bool allowed);

// RAII: while alive, oneDNN is off if bf16 work may run and oneDNN must not do it.
class OneDnnBf16Guard {
 public:
  explicit OneDnnBf16Guard(bool bf16Possible);
  ~OneDnnBf16Guard();
  OneDnnBf16Guard(const OneDnnBf16Guard&) = delete;
  OneDnnBf16Guard& operator=(const OneDnnBf16Guard&) = delete;

 private:
  bool restore_ = false;
  bool prev_ = true;
};

void InitOps(Napi::Env env, Napi::Object exports);
void InitRuntime(Napi::Env env, Napi::Object exports);
void InitOptim(Napi::Env env, Napi::Object exports, AddonData* data);

}  // namespace perceptual
