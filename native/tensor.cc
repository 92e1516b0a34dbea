// The JS Tensor object and argument parsing shared by every op.
#include "common.h"

#include <torch/csrc/autograd/variable.h>
#include <torch/csrc/autograd/autograd.h>

#include <cmath>
#include <cstring>

namespace perceptual {

std::string dtypeName(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return "float32";
    case at::kDouble: return "float64";
    case at::kBFloat16: return "bfloat16";
    case at::kHalf: return "float16";
    case at::kLong: return "int64";
    case at::kInt: return "int32";
    case at::kByte: return "uint8";
    case at::kBool: return "bool";
    default: return c10::toString(t);
  }
}

at::ScalarType parseDtype(const std::string& s) {
  if (s == "float32") return at::kFloat;
  if (s == "float64") return at::kDouble;
  if (s == "bfloat16") return at::kBFloat16;
  if (s == "float16") return at::kHalf;
  if (s == "int64") return at::kLong;
  if (s == "int32") return at::kInt;
  if (s == "uint8") return at::kByte;
  if (s == "bool") return at::kBool;
  throw std::invalid_argument("unknown dtype '" + s + "' (float32, float64, bfloat16, float16, int64, int32, uint8, bool)");
}

std::string describe(const at::Tensor& t) {
  if (!t.defined()) return "<disposed>";
  std::ostringstream os;
  os << "[";
  for (int64_t d = 0; d < t.dim(); d++) os << (d ? "," : "") << t.size(d);
  os << "] " << dtypeName(t.scalar_type());
  if (!t.device().is_cpu()) os << " " << t.device();
  return os.str();
}

// ---------------------------------------------------------------------------------------
// TensorWrap

Napi::Function TensorWrap::Init(Napi::Env env) {
  return DefineClass(env, "NativeTensor", {
    InstanceAccessor<&TensorWrap::Shape>("shape"),
    InstanceAccessor<&TensorWrap::Strides>("strides"),
    InstanceAccessor<&TensorWrap::Dtype>("dtype"),
    InstanceAccessor<&TensorWrap::Device>("device"),
    InstanceAccessor<&TensorWrap::Numel>("numel"),
    InstanceAccessor<&TensorWrap::NBytes>("nbytes"),
    InstanceAccessor<&TensorWrap::Disposed>("disposed"),
    InstanceAccessor<&TensorWrap::GetRequiresGrad, &TensorWrap::SetRequiresGrad>("requiresGrad"),
    InstanceAccessor<&TensorWrap::Grad>("grad"),
    InstanceAccessor<&TensorWrap::IsChannelsLast>("isChannelsLast"),
    InstanceMethod<&TensorWrap::Dispose>("dispose"),
    InstanceMethod<&TensorWrap::ZeroGrad>("zeroGrad"),
    InstanceMethod<&TensorWrap::Backward>("backward"),
    InstanceMethod<&TensorWrap::ToArray>("toArray"),
    InstanceMethod<&TensorWrap::Item>("item"),
  });
}

TensorWrap::TensorWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TensorWrap>(info) {}

Napi::Object TensorWrap::NewInstance(Napi::Env env, at::Tensor t) {
  auto* data = env.GetInstanceData<AddonData>();
  Napi::Object obj = data->tensorCtor.New({});
  TensorWrap::Unwrap(obj)->tensor = std::move(t);
  return obj;
}

bool TensorWrap::IsInstance(Napi::Env env, const Napi::Value& v) {
  if (!v.IsObject()) return false;
  auto* data = env.GetInstanceData<AddonData>();
  return v.As<Napi::Object>().InstanceOf(data->tensorCtor.Value());
}

static void requireLive(const Napi::CallbackInfo& info, const at::Tensor& t, const char* what) {
  if (!t.defined()) throw Napi::Error::New(info.Env(), std::string(what) + ": the tensor has been disposed");
}

Napi::Value TensorWrap::Shape(const Napi::CallbackInfo& info) {
  requireLive(info, tensor, "shape");
  auto arr = Napi::Array::New(info.Env(), tensor.dim());
  for (int64_t d = 0; d < tensor.dim(); d++) arr.Set(static_cast<uint32_t>(d), Napi::Number::New(info.Env(), static_cast<double>(tensor.size(d))));
  return arr;
}

Napi::Value TensorWrap::Strides(const Napi::CallbackInfo& info) {
  requireLive(info, tensor, "strides");
  auto arr = Napi::Array::New(info.Env(), tensor.dim());
  for (int64_t d = 0; d < tensor.dim(); d++) arr.Set(static_cast<uint32_t>(d), Napi::Number::New(info.Env(), static_cast<double>(tensor.stride(d))));
  return arr;
}

Napi::Value TensorWrap::Dtype(const Napi::CallbackInfo& info) {
  requireLive(info, tensor, "dtype");
  return Napi::String::New(info.Env(), dtypeName(tensor.scalar_type()));
}

Napi::Value TensorWrap::Device(const Napi::CallbackInfo& info) {
  requireLive(info, tensor, "device");
  return Napi::String::New(info.Env(), tensor.device().str());
}

Napi::Value TensorWrap::Numel(const Napi::CallbackInfo& info) {
  requireLive(info, tensor, "numel");
  return Napi::Number::New(info.Env(), static_cast<double>(tensor.numel()));
}

Napi::Value TensorWrap::NBytes(const Napi::CallbackInfo& info) {
  requireLive(info, tensor, "nbytes");
  return Napi::Number::New(info.Env(), static_cast<double>(tensor.numel() * tensor.element_size()));
}

Napi::Value TensorWrap::Disposed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), !tensor.defined());
}

Napi::Value TensorWrap::GetRequiresGrad(const Napi::CallbackInfo& info) {
  requireLive(info, tensor, "requiresGrad");
  return Napi::Boolean::New(info.Env(), tensor.requires_grad());
}

void TensorWrap::SetRequiresGrad(const Napi::CallbackInfo& info, const Napi::Value& v) {
  requireLive(info, tensor, "requiresGrad");
  guarded(info.Env(), "requiresGrad(" + describe(tensor) + ")", [&] {
    tensor.requires_grad_(v.ToBoolean().Value());
    return info.Env().Undefined();
  });
}

Napi::Value TensorWrap::Grad(const Napi::CallbackInfo& info) {
  requireLive(info, tensor, "grad");
  return guarded(info.Env(), "grad(" + describe(tensor) + ")", [&]() -> Napi::Value {
    const at::Tensor& g = tensor.grad();
    if (!g.defined()) return info.Env().Null();
    return NewInstance(info.Env(), g);
  });
}

Napi::Value TensorWrap::IsChannelsLast(const Napi::CallbackInfo& info) {
  requireLive(info, tensor, "isChannelsLast");
  return Napi::Boolean::New(info.Env(), tensor.dim() == 4 && tensor.is_contiguous(at::MemoryFormat::ChannelsLast) && !tensor.is_contiguous());
}

Napi::Value TensorWrap::Dispose(const Napi::CallbackInfo& info) {
  tensor = at::Tensor();
  return info.Env().Undefined();
}

Napi::Value TensorWrap::ZeroGrad(const Napi::CallbackInfo& info) {
  requireLive(info, tensor, "zeroGrad");
  // Like PyTorch's zero_grad(set_to_none=True): frees the gradient instead of filling it.
  return guarded(info.Env(), "zeroGrad(" + describe(tensor) + ")", [&] {
    tensor.mutable_grad().reset();
    return info.Env().Undefined();
  });
}

Napi::Value TensorWrap::Backward(const Napi::CallbackInfo& info) {
  requireLive(info, tensor, "backward");
  at::Tensor grad;
  if (info.Length() > 0 && !info[0].IsUndefined() && !info[0].IsNull()) {
    if (!IsInstance(info.Env(), info[0])) throw Napi::TypeError::New(info.Env(), "backward: gradient must be a Tensor");
    grad = Unwrap(info[0].As<Napi::Object>())->tensor;
    requireLive(info, grad, "backward(gradient)");
  }
  bool retain = info.Length() > 1 && info[1].ToBoolean().Value();
  std::string ctx = "backward(" + describe(tensor) + (grad.defined() ? ", gradient " + describe(grad) : "") + ")";
  return guarded(info.Env(), ctx, [&] {
    // The graph may hold bf16 ops whose backward would pick oneDNN: see OneDnnBf16Guard.
    OneDnnBf16Guard onednn(true);
    if (!tensor.requires_grad()) throw std::runtime_error("the tensor does not require grad (no parameter or input with requiresGrad contributed to it, or it was computed under noGrad)");
    if (!grad.defined() && tensor.numel() != 1) throw std::runtime_error("gradient can be implicit only for a tensor of one element; pass a gradient of the same shape");
    tensor.backward(grad, retain);
    return info.Env().Undefined();
  });
}

// Copies the tensor's data out into a typed array of its natural JS type.
Napi::Value TensorWrap::ToArray(const Napi::CallbackInfo& info) {
  requireLive(info, tensor, "toArray");
  Napi::Env env = info.Env();
  return guarded(env, "toArray(" + describe(tensor) + ")", [&]() -> Napi::Value {
    at::Tensor t = tensor.detach().to(at::kCPU);
    at::ScalarType st = t.scalar_type();
    if (st == at::kBFloat16 || st == at::kHalf) st = at::kFloat;
    if (st == at::kBool) st = at::kByte;
    t = t.to(st).contiguous();
    size_t n = static_cast<size_t>(t.numel());
    size_t bytes = n * t.element_size();
    auto ab = Napi::ArrayBuffer::New(env, bytes);
    if (bytes) std::memcpy(ab.Data(), t.data_ptr(), bytes);
    switch (st) {
      case at::kFloat: return Napi::Float32Array::New(env, n, ab, 0);
      case at::kDouble: return Napi::Float64Array::New(env, n, ab, 0);
      case at::kByte: return Napi::Uint8Array::New(env, n, ab, 0);
      case at::kInt: return Napi::Int32Array::New(env, n, ab, 0);
      case at::kLong: return Napi::BigInt64Array::New(env, n, ab, 0);
      default: throw std::runtime_error("no typed array for dtype " + dtypeName(st));
    }
  });
}

Napi::Value TensorWrap::Item(const Napi::CallbackInfo& info) {
  requireLive(info, tensor, "item");
  return guarded(info.Env(), "item(" + describe(tensor) + ")", [&] {
    if (tensor.numel() != 1) throw std::runtime_error("item() needs a tensor of exactly one element");
    return Napi::Number::New(info.Env(), tensor.item<double>());
  });
}

// ---------------------------------------------------------------------------------------
// Plain-argument checks

static std::string describeValue(const Napi::Value& v) {
  if (v.IsUndefined()) return "undefined";
  if (v.IsNull()) return "null";
  if (v.IsString()) return "'" + v.As<Napi::String>().Utf8Value() + "'";
  if (v.IsNumber() || v.IsBoolean()) return v.ToString().Utf8Value();
  if (v.IsArray()) return "an array";
  if (v.IsFunction()) return "a function";
  return "an object";
}

double numberArg(const Napi::CallbackInfo& info, size_t i, const std::string& op, const std::string& name) {
  Napi::Value v = info[i];
  if (!v.IsNumber()) throw Napi::TypeError::New(info.Env(), op + ": " + name + " must be a number, got " + describeValue(v));
  return v.As<Napi::Number>().DoubleValue();
}

int64_t integerArg(const Napi::CallbackInfo& info, size_t i, const std::string& op, const std::string& name, int64_t min, int64_t max) {
  Napi::Value v = info[i];
  double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : 0.0;
  if (!v.IsNumber() || !std::isfinite(d) || d != std::floor(d) || d < static_cast<double>(min) || d > static_cast<double>(max))
    throw Napi::RangeError::New(info.Env(), op + ": " + name + " must be an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "], got " + describeValue(v));
  return static_cast<int64_t>(d);
}

std::string stringArg(const Napi::CallbackInfo& info, size_t i, const std::string& op, const std::string& name) {
  Napi::Value v = info[i];
  if (!v.IsString()) throw Napi::TypeError::New(info.Env(), op + ": " + name + " must be a string, got " + describeValue(v));
  return v.As<Napi::String>().Utf8Value();
}

// ---------------------------------------------------------------------------------------
// Args

bool Args::has(size_t i) const {
  if (i >= arr_.Length()) return false;
  Napi::Value v = at(i);
  return !v.IsUndefined() && !v.IsNull();
}

void Args::fail(size_t i, const std::string& what) const {
  throw Napi::TypeError::New(env_, op_ + ": argument " + std::to_string(i) + " " + what + " — in " + signature());
}

bool Args::isTensor(size_t i) const { return has(i) && TensorWrap::IsInstance(env_, at(i)); }

bool Args::anyBf16() const {
  auto isBf16 = [&](const Napi::Value& v) {
    if (!TensorWrap::IsInstance(env_, v)) return false;
    const at::Tensor& t = TensorWrap::Unwrap(v.As<Napi::Object>())->tensor;
    return t.defined() && t.scalar_type() == at::kBFloat16;
  };
  for (uint32_t k = 0; k < arr_.Length(); k++) {
    Napi::Value v = at(k);
    if (isBf16(v)) return true;
    if (v.IsArray()) {
      Napi::Array a = v.As<Napi::Array>();
      for (uint32_t j = 0; j < a.Length(); j++)
        if (isBf16(a.Get(j))) return true;
    }
  }
  return false;
}

at::Tensor Args::T(size_t i) const {
  if (!has(i)) fail(i, "is missing (expected a Tensor)");
  Napi::Value v = at(i);
  if (!TensorWrap::IsInstance(env_, v)) fail(i, "must be a Tensor");
  const at::Tensor& t = TensorWrap::Unwrap(v.As<Napi::Object>())->tensor;
  if (!t.defined()) fail(i, "is a disposed tensor (it was freed by dispose() or by the scope that created it; keep() it to use it later)");
  return t;
}

c10::optional<at::Tensor> Args::OT(size_t i) const {
  if (!has(i)) return c10::nullopt;
  return T(i);
}

std::vector<at::Tensor> Args::TV(size_t i) const {
  if (!has(i) || !at(i).IsArray()) fail(i, "must be an array of Tensors");
  Napi::Array a = at(i).As<Napi::Array>();
  std::vector<at::Tensor> out;
  for (uint32_t k = 0; k < a.Length(); k++) {
    Napi::Value v = a.Get(k);
    if (!TensorWrap::IsInstance(env_, v)) fail(i, "element " + std::to_string(k) + " must be a Tensor");
    const at::Tensor& t = TensorWrap::Unwrap(v.As<Napi::Object>())->tensor;
    if (!t.defined()) fail(i, "element " + std::to_string(k) + " is a disposed tensor");
    out.push_back(t);
  }
  return out;
}

int64_t Args::I(size_t i) const {
  if (!has(i) || !at(i).IsNumber()) fail(i, "must be an integer");
  double d = at(i).As<Napi::Number>().DoubleValue();
  if (d != static_cast<double>(static_cast<int64_t>(d))) fail(i, "must be an integer, got " + std::to_string(d));
  return static_cast<int64_t>(d);
}

c10::optional<int64_t> Args::OI(size_t i) const {
  if (!has(i)) return c10::nullopt;
  return I(i);
}

std::vector<int64_t> Args::IV(size_t i) const {
  if (has(i) && at(i).IsNumber()) return {I(i)};
  if (!has(i) || !at(i).IsArray()) fail(i, "must be an array of integers");
  Napi::Array a = at(i).As<Napi::Array>();
  std::vector<int64_t> out;
  for (uint32_t k = 0; k < a.Length(); k++) {
    Napi::Value v = a.Get(k);
    if (!v.IsNumber()) fail(i, "element " + std::to_string(k) + " must be an integer");
    double d = v.As<Napi::Number>().DoubleValue();
    if (d != static_cast<double>(static_cast<int64_t>(d))) fail(i, "element " + std::to_string(k) + " must be an integer");
    out.push_back(static_cast<int64_t>(d));
  }
  return out;
}

c10::optional<std::vector<int64_t>> Args::OIV(size_t i) const {
  if (!has(i)) return c10::nullopt;
  return IV(i);
}

double Args::D(size_t i) const {
  if (!has(i) || !at(i).IsNumber()) fail(i, "must be a number");
  return at(i).As<Napi::Number>().DoubleValue();
}

c10::optional<double> Args::OD(size_t i) const {
  if (!has(i)) return c10::nullopt;
  return D(i);
}

std::vector<double> Args::DV(size_t i) const {
  if (!has(i) || !at(i).IsArray()) fail(i, "must be an array of numbers");
  Napi::Array a = at(i).As<Napi::Array>();
  std::vector<double> out;
  for (uint32_t k = 0; k < a.Length(); k++) {
    Napi::Value v = a.Get(k);
    if (!v.IsNumber()) fail(i, "element " + std::to_string(k) + " must be a number");
    out.push_back(v.As<Napi::Number>().DoubleValue());
  }
  return out;
}

bool Args::B(size_t i) const {
  if (!has(i)) return false;
  if (!at(i).IsBoolean()) fail(i, "must be a boolean");
  return at(i).As<Napi::Boolean>().Value();
}

std::string Args::S(size_t i) const {
  if (!has(i) || !at(i).IsString()) fail(i, "must be a string");
  return at(i).As<Napi::String>().Utf8Value();
}

at::Scalar Args::Sc(size_t i) const {
  if (has(i) && at(i).IsBoolean()) return at::Scalar(at(i).As<Napi::Boolean>().Value());
  return at::Scalar(D(i));
}

std::string Args::signature() const {
  std::ostringstream os;
  os << op_ << "(";
  for (uint32_t k = 0; k < arr_.Length(); k++) {
    if (k) os << ", ";
    Napi::Value v = at(k);
    if (TensorWrap::IsInstance(env_, v)) {
      os << describe(TensorWrap::Unwrap(v.As<Napi::Object>())->tensor);
    } else if (v.IsArray()) {
      Napi::Array a = v.As<Napi::Array>();
      os << "[";
      for (uint32_t j = 0; j < a.Length() && j < 8; j++) {
        Napi::Value e = a.Get(j);
        if (j) os << ",";
        if (TensorWrap::IsInstance(env_, e)) os << describe(TensorWrap::Unwrap(e.As<Napi::Object>())->tensor);
        else os << e.ToString().Utf8Value();
      }
      if (a.Length() > 8) os << ",…";
      os << "]";
    } else if (v.IsUndefined() || v.IsNull()) {
      os << "none";
    } else if (v.IsString()) {
      os << "'" << v.ToString().Utf8Value() << "'";
    } else {
      os << v.ToString().Utf8Value();
    }
  }
  os << ")";
  return os.str();
}

}  // namespace perceptual
