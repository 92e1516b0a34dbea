// The op table: every differentiable operation the project needs, each a one-line call into
// ATen. Ops are looked up by name from `op(name, args)`; autograd is ATen's own, so every op
// here is differentiable wherever PyTorch's is.
#include "common.h"

#include <cmath>
#include <unordered_map>

#include <ATen/autocast_mode.h>

namespace perceptual {

namespace {

using Result = std::vector<at::Tensor>;  // one or more output tensors
using OpFn = std::function<Result(const Args&)>;

at::TensorOptions options(const Args& a, size_t dtypeIdx, size_t deviceIdx) {
  at::TensorOptions o = at::TensorOptions().dtype(a.has(dtypeIdx) ? parseDtype(a.S(dtypeIdx)) : at::kFloat);
  if (a.has(deviceIdx)) o = o.device(c10::Device(a.S(deviceIdx)));
  return o;
}

// Binary ops accept a Tensor or a number as their second (and for some, first) operand.
template <typename TT, typename TS>
Result binary(const Args& a, TT tt, TS ts) {
  at::Tensor x = a.T(0);
  if (a.isTensor(1)) return {tt(x, a.T(1))};
  return {ts(x, a.Sc(1))};
}

at::Tensor tensorOrScalar(const Args& a, size_t i, const at::Tensor& like) {
  if (a.isTensor(i)) return a.T(i);
  return at::scalar_tensor(a.Sc(i), like.options());
}

c10::optional<at::IntArrayRef> dimsRef(const c10::optional<std::vector<int64_t>>& v) {
  if (!v) return c10::nullopt;
  return at::IntArrayRef(*v);
}

at::MemoryFormat memoryFormat(const std::string& s) {
  if (s == "channels_last") return at::MemoryFormat::ChannelsLast;
  if (s == "contiguous") return at::MemoryFormat::Contiguous;
  if (s == "preserve") return at::MemoryFormat::Preserve;
  throw std::invalid_argument("unknown memory format '" + s + "' (contiguous, channels_last, preserve)");
}

const std::unordered_map<std::string, OpFn>& table() {
  static const std::unordered_map<std::string, OpFn> ops = {
      // --- creation: (shape, dtype?, device?)
      {"zeros", [](const Args& a) -> Result { return {at::zeros(a.IV(0), options(a, 1, 2))}; }},
      {"ones", [](const Args& a) -> Result { return {at::ones(a.IV(0), options(a, 1, 2))}; }},
      {"full", [](const Args& a) -> Result { return {at::full(a.IV(0), a.Sc(1), options(a, 2, 3))}; }},
      {"rand", [](const Args& a) -> Result { return {at::rand(a.IV(0), options(a, 1, 2))}; }},
      {"randn", [](const Args& a) -> Result { return {at::randn(a.IV(0), options(a, 1, 2))}; }},
      {"arange", [](const Args& a) -> Result { return {at::arange(a.Sc(0), a.Sc(1), a.Sc(2), options(a, 3, 4))}; }},
      {"zeros_like", [](const Args& a) -> Result { return {at::zeros_like(a.T(0))}; }},
      {"ones_like", [](const Args& a) -> Result { return {at::ones_like(a.T(0))}; }},
      {"randn_like", [](const Args& a) -> Result { return {at::randn_like(a.T(0))}; }},

      // --- elementwise binary (second operand Tensor or number)
      {"add", [](const Args& a) { return binary(a, [](auto x, auto y) { return at::add(x, y); }, [](auto x, auto s) { return at::add(x, s); }); }},
      {"sub", [](const Args& a) { return binary(a, [](auto x, auto y) { return at::sub(x, y); }, [](auto x, auto s) { return at::sub(x, s); }); }},
      {"mul", [](const Args& a) { return binary(a, [](auto x, auto y) { return at::mul(x, y); }, [](auto x, auto s) { return at::mul(x, s); }); }},
      {"div", [](const Args& a) { return binary(a, [](auto x, auto y) { return at::div(x, y); }, [](auto x, auto s) { return at::div(x, s); }); }},
      {"pow", [](const Args& a) { return binary(a, [](auto x, auto y) { return at::pow(x, y); }, [](auto x, auto s) { return at::pow(x, s); }); }},
      {"maximum", [](const Args& a) -> Result { return {at::maximum(a.T(0), tensorOrScalar(a, 1, a.T(0)))}; }},
      {"minimum", [](const Args& a) -> Result { return {at::minimum(a.T(0), tensorOrScalar(a, 1, a.T(0)))}; }},
      {"gt", [](const Args& a) { return binary(a, [](auto x, auto y) { return at::gt(x, y); }, [](auto x, auto s) { return at::gt(x, s); }); }},
      {"lt", [](const Args& a) { return binary(a, [](auto x, auto y) { return at::lt(x, y); }, [](auto x, auto s) { return at::lt(x, s); }); }},
      {"ge", [](const Args& a) { return binary(a, [](auto x, auto y) { return at::ge(x, y); }, [](auto x, auto s) { return at::ge(x, s); }); }},
      {"le", [](const Args& a) { return binary(a, [](auto x, auto y) { return at::le(x, y); }, [](auto x, auto s) { return at::le(x, s); }); }},
      {"eq", [](const Args& a) { return binary(a, [](auto x, auto y) { return at::eq(x, y); }, [](auto x, auto s) { return at::eq(x, s); }); }},
      {"ne", [](const Args& a) { return binary(a, [](auto x, auto y) { return at::ne(x, y); }, [](auto x, auto s) { return at::ne(x, s); }); }},
      {"where", [](const Args& a) -> Result {
         at::Tensor c = a.T(0);
         at::Tensor ref = a.isTensor(1) ? a.T(1) : (a.isTensor(2) ? a.T(2) : at::empty({}, at::kFloat));
         return {at::where(c, tensorOrScalar(a, 1, ref), tensorOrScalar(a, 2, ref))};
       }},

      // --- elementwise unary
      {"neg", [](const Args& a) -> Result { return {at::neg(a.T(0))}; }},
      {"sqrt", [](const Args& a) -> Result { return {at::sqrt(a.T(0))}; }},
      {"rsqrt", [](const Args& a) -> Result { return {at::rsqrt(a.T(0))}; }},
      {"exp", [](const Args& a) -> Result { return {at::exp(a.T(0))}; }},
      {"log", [](const Args& a) -> Result { return {at::log(a.T(0))}; }},
      {"abs", [](const Args& a) -> Result { return {at::abs(a.T(0))}; }},
      {"square", [](const Args& a) -> Result { return {at::square(a.T(0))}; }},
      {"tanh", [](const Args& a) -> Result { return {at::tanh(a.T(0))}; }},
      {"relu", [](const Args& a) -> Result { return {at::relu(a.T(0))}; }},
      {"sigmoid", [](const Args& a) -> Result { return {at::sigmoid(a.T(0))}; }},
      {"round", [](const Args& a) -> Result { return {at::round(a.T(0))}; }},
      {"floor", [](const Args& a) -> Result { return {at::floor(a.T(0))}; }},
      {"isfinite", [](const Args& a) -> Result { return {at::isfinite(a.T(0))}; }},
      {"clamp", [](const Args& a) -> Result {
         c10::optional<at::Scalar> lo, hi;
         if (a.has(1)) lo = a.Sc(1);
         if (a.has(2)) hi = a.Sc(2);
         if (!lo && !hi) throw std::invalid_argument("clamp needs a min, a max or both");
         return {at::clamp(a.T(0), lo, hi)};
       }},

      // --- reductions: (x, dims?, keepdim?)
      {"sum", [](const Args& a) -> Result {
         if (!a.has(1)) return {at::sum(a.T(0))};
         return {at::sum(a.T(0), a.IV(1), a.B(2))};
       }},
      {"mean", [](const Args& a) -> Result {
         if (!a.has(1)) return {at::mean(a.T(0))};
         return {at::mean(a.T(0), a.IV(1), a.B(2))};
       }},
      // (x, dims?, unbiased, keepdim)
      {"var", [](const Args& a) -> Result {
         return {at::var(a.T(0), dimsRef(a.OIV(1)), a.B(2), a.B(3))};
       }},
      {"min", [](const Args& a) -> Result { return {at::min(a.T(0))}; }},
      {"max", [](const Args& a) -> Result { return {at::max(a.T(0))}; }},
      // (x, dim, keepdim) → [values, indices]
      {"min_dim", [](const Args& a) -> Result { auto r = at::min(a.T(0), a.I(1), a.B(2)); return {std::get<0>(r), std::get<1>(r)}; }},
      {"max_dim", [](const Args& a) -> Result { auto r = at::max(a.T(0), a.I(1), a.B(2)); return {std::get<0>(r), std::get<1>(r)}; }},
      {"argmax", [](const Args& a) -> Result { return {at::argmax(a.T(0), a.OI(1), a.B(2))}; }},
      {"all", [](const Args& a) -> Result { return {at::all(a.T(0))}; }},

      // --- shape
      {"reshape", [](const Args& a) -> Result { return {at::reshape(a.T(0), a.IV(1))}; }},
      {"permute", [](const Args& a) -> Result { return {a.T(0).permute(a.IV(1))}; }},
      {"transpose", [](const Args& a) -> Result { return {at::transpose(a.T(0), a.I(1), a.I(2))}; }},
      {"narrow", [](const Args& a) -> Result { return {at::narrow(a.T(0), a.I(1), a.I(2), a.I(3))}; }},
      // (x, dim, start?, end?, step)
      {"slice", [](const Args& a) -> Result { return {at::slice(a.T(0), a.I(1), a.OI(2), a.OI(3), a.has(4) ? a.I(4) : 1)}; }},
      {"select", [](const Args& a) -> Result { return {at::select(a.T(0), a.I(1), a.I(2))}; }},
      {"cat", [](const Args& a) -> Result { return {at::cat(a.TV(0), a.I(1))}; }},
      {"stack", [](const Args& a) -> Result { return {at::stack(a.TV(0), a.I(1))}; }},
      {"flip", [](const Args& a) -> Result { return {at::flip(a.T(0), a.IV(1))}; }},
      {"squeeze", [](const Args& a) -> Result { return {a.has(1) ? at::squeeze(a.T(0), a.I(1)) : at::squeeze(a.T(0))}; }},
      {"unsqueeze", [](const Args& a) -> Result { return {at::unsqueeze(a.T(0), a.I(1))}; }},
      {"expand", [](const Args& a) -> Result { return {a.T(0).expand(a.IV(1))}; }},
      {"contiguous", [](const Args& a) -> Result {
         return {a.T(0).contiguous(a.has(1) ? memoryFormat(a.S(1)) : at::MemoryFormat::Contiguous)};
       }},
      // (x, pads [l, r, t, b, …] as in torch.nn.functional.pad, mode, value)
      {"pad", [](const Args& a) -> Result {
         at::Tensor x = a.T(0);
         std::vector<int64_t> pads = a.IV(1);
         std::string mode = a.has(2) ? a.S(2) : "constant";
         if (mode == "constant") return {at::constant_pad_nd(x, pads, a.has(3) ? a.Sc(3) : at::Scalar(0.0))};
         if (pads.size() == 4 && mode == "reflect") return {at::reflection_pad2d(x, pads)};
         if (pads.size() == 4 && mode == "replicate") return {at::replication_pad2d(x, pads)};
         if (pads.size() == 2 && mode == "reflect") return {at::reflection_pad1d(x, pads)};
         if (pads.size() == 2 && mode == "replicate") return {at::replication_pad1d(x, pads)};
         throw std::invalid_argument("pad mode '" + mode + "' with " + std::to_string(pads.size()) + " pad values is not supported (reflect/replicate take 2 or 4, constant any even count)");
       }},

      // --- type, device, memory
      {"to_dtype", [](const Args& a) -> Result { return {a.T(0).to(parseDtype(a.S(1)))}; }},
      {"to_device", [](const Args& a) -> Result { return {a.T(0).to(c10::Device(a.S(1)))}; }},
      {"clone", [](const Args& a) -> Result { return {a.T(0).clone()}; }},
      {"detach", [](const Args& a) -> Result { return {a.T(0).detach()}; }},
      // In-place copy into a (usually parameter) tensor, outside autograd: loading weights
      // into tensors an optimizer already holds.
      {"copy_", [](const Args& a) -> Result {
         at::NoGradGuard ng;
         at::Tensor dst = a.T(0);
         at::Tensor src = a.T(1);
         if (dst.sizes() != src.sizes()) throw std::invalid_argument("copy_ needs equal shapes");
         dst.copy_(src);
         return {dst};
       }},

      // --- neural-network ops
      // (x, w, b?, stride, padding, dilation, groups)
      {"conv2d", [](const Args& a) -> Result {
         return {at::conv2d(a.T(0), a.T(1), a.OT(2), a.IV(3), a.IV(4), a.IV(5), a.I(6))};
       }},
      // (x, w, b?, stride, padding, output_padding, groups, dilation)
      {"conv_transpose2d", [](const Args& a) -> Result {
         return {at::conv_transpose2d(a.T(0), a.T(1), a.OT(2), a.IV(3), a.IV(4), a.IV(5), a.I(6), a.IV(7))};
       }},
      // (x, kernel, stride, padding, dilation, ceil_mode)
      {"max_pool2d", [](const Args& a) -> Result {
         return {at::max_pool2d(a.T(0), a.IV(1), a.IV(2), a.IV(3), a.IV(4), a.B(5))};
       }},
      // (x, kernel, stride, padding, ceil_mode, count_include_pad)
      {"avg_pool2d", [](const Args& a) -> Result {
         return {at::avg_pool2d(a.T(0), a.IV(1), a.IV(2), a.IV(3), a.B(4), a.B(5))};
       }},
      // (x, [outH, outW], mode, align_corners, antialias)
      {"interpolate", [](const Args& a) -> Result {
         at::Tensor x = a.T(0);
         std::vector<int64_t> size = a.IV(1);
         std::string mode = a.S(2);
         bool align = a.B(3), aa = a.B(4);
         if (size.size() != 2) throw std::invalid_argument("interpolate needs an output size [H, W]");
         if (mode == "nearest") {
           if (aa) throw std::invalid_argument("antialias is not available for nearest");
           return {at::upsample_nearest2d(x, size)};
         }
         if (mode == "bilinear") return {aa ? at::_upsample_bilinear2d_aa(x, size, align) : at::upsample_bilinear2d(x, size, align)};
         if (mode == "bicubic") return {aa ? at::_upsample_bicubic2d_aa(x, size, align) : at::upsample_bicubic2d(x, size, align)};
         throw std::invalid_argument("unknown interpolation mode '" + mode + "' (nearest, bilinear, bicubic)");
       }},
      // (x, weight?, bias?, running_mean?, running_var?, training, momentum, eps)
      {"batch_norm", [](const Args& a) -> Result {
         return {at::batch_norm(a.T(0), a.OT(1), a.OT(2), a.OT(3), a.OT(4), a.B(5), a.D(6), a.D(7), true)};
       }},
      // (x, weight?, bias?, running_mean?, running_var?, use_input_stats, momentum, eps)
      {"instance_norm", [](const Args& a) -> Result {
         return {at::instance_norm(a.T(0), a.OT(1), a.OT(2), a.OT(3), a.OT(4), a.B(5), a.D(6), a.D(7), true)};
       }},
      {"matmul", [](const Args& a) -> Result { return {at::matmul(a.T(0), a.T(1))}; }},
      {"bmm", [](const Args& a) -> Result { return {at::bmm(a.T(0), a.T(1))}; }},
      // (a, b, reduction: 'mean' | 'sum' | 'none')
      {"mse_loss", [](const Args& a) -> Result {
         std::string r = a.has(2) ? a.S(2) : "mean";
         int64_t red = r == "mean" ? at::Reduction::Mean : r == "sum" ? at::Reduction::Sum : r == "none" ? at::Reduction::None : -1;
         if (red < 0) throw std::invalid_argument("unknown reduction '" + r + "' (mean, sum, none)");
         return {at::mse_loss(a.T(0), a.T(1), red)};
       }},
  };
  return ops;
}

Napi::Value ToJs(Napi::Env env, Result r) {
  if (r.size() == 1) return TensorWrap::NewInstance(env, std::move(r[0]));
  auto arr = Napi::Array::New(env, r.size());
  for (size_t i = 0; i < r.size(); i++) arr.Set(static_cast<uint32_t>(i), TensorWrap::NewInstance(env, std::move(r[i])));
  return arr;
}

// op(name, args[]) → Tensor | Tensor[]
Napi::Value Op(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsArray()) throw Napi::TypeError::New(env, "op(name, args[]) expected");
  std::string name = info[0].As<Napi::String>().Utf8Value();
  const auto& ops = table();
  auto it = ops.find(name);
  if (it == ops.end()) throw Napi::TypeError::New(env, "unknown op '" + name + "'");
  Args args(env, name, info[1].As<Napi::Array>());
  try {
    OneDnnBf16Guard onednn(at::autocast::is_cpu_enabled() || args.anyBf16());
    return ToJs(env, it->second(args));
  } catch (const Napi::Error&) {
    throw;
  } catch (const c10::Error& e) {
    throw Napi::Error::New(env, args.signature() + ": " + e.what_without_backtrace());
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, args.signature() + ": " + e.what());
  } catch (...) {
    throw Napi::Error::New(env, args.signature() + ": unknown C++ exception");
  }
}

Napi::Value OpNames(const Napi::CallbackInfo& info) {
  const auto& ops = table();
  auto arr = Napi::Array::New(info.Env(), ops.size());
  uint32_t i = 0;
  for (const auto& kv : ops) arr.Set(i++, Napi::String::New(info.Env(), kv.first));
  return arr;
}

// fromArray(typedArray, shape, dtype?, device?) → Tensor. Copies: JS keeps its buffer.
Napi::Value FromArray(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsTypedArray() || !info[1].IsArray()) throw Napi::TypeError::New(env, "fromArray(typedArray, shape, dtype?, device?) expected");
  Napi::TypedArray ta = info[0].As<Napi::TypedArray>();
  std::vector<int64_t> shape;
  Napi::Array s = info[1].As<Napi::Array>();
  int64_t n = 1;
  for (uint32_t i = 0; i < s.Length(); i++) {
    Napi::Value v = s.Get(i);
    double dd = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1.0;
    // Each dimension at most 2^40 elements and their product checked against the array's
    // length below, so nothing here overflows.
    if (!v.IsNumber() || !std::isfinite(dd) || dd != std::floor(dd) || dd < 0 || dd > 1099511627776.0)
      throw Napi::TypeError::New(env, "fromArray: shape element " + std::to_string(i) + " must be a non-negative integer, got " + v.ToString().Utf8Value());
    int64_t d = static_cast<int64_t>(dd);
    shape.push_back(d);
    if (n > 0 && d > (static_cast<int64_t>(1) << 50) / n) throw Napi::RangeError::New(env, "fromArray: the shape holds more elements than any array can");
    n *= d;
  }
  at::ScalarType src;
  switch (ta.TypedArrayType()) {
    case napi_float32_array: src = at::kFloat; break;
    case napi_float64_array: src = at::kDouble; break;
    case napi_uint8_array: case napi_uint8_clamped_array: src = at::kByte; break;
    case napi_int32_array: src = at::kInt; break;
    case napi_bigint64_array: src = at::kLong; break;
    default: throw Napi::TypeError::New(env, "fromArray: use Float32Array, Float64Array, Uint8Array, Int32Array or BigInt64Array");
  }
  if (static_cast<int64_t>(ta.ElementLength()) != n) {
    std::ostringstream os;
    os << "fromArray: the array has " << ta.ElementLength() << " elements but shape [";
    for (size_t i = 0; i < shape.size(); i++) os << (i ? "," : "") << shape[i];
    os << "] needs " << n;
    throw Napi::Error::New(env, os.str());
  }
  std::ostringstream ctxs;
  ctxs << "fromArray(" << ta.ElementLength() << " elements, [";
  for (size_t i = 0; i < shape.size(); i++) ctxs << (i ? "," : "") << shape[i];
  ctxs << "])";
  std::string ctx = ctxs.str();
  return guarded(env, ctx, [&]() -> Napi::Value {
    uint8_t* base = static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
    at::Tensor t = at::from_blob(base, shape, at::TensorOptions().dtype(src)).clone();
    auto given = [&](size_t i) { return info.Length() > i && !info[i].IsUndefined() && !info[i].IsNull(); };
    if (given(2)) t = t.to(parseDtype(stringArg(info, 2, "fromArray", "dtype")));
    if (given(3)) t = t.to(c10::Device(stringArg(info, 3, "fromArray", "device")));
    return TensorWrap::NewInstance(env, t);
  });
}

}  // namespace

void InitOps(Napi::Env env, Napi::Object exports) {
  exports.Set("op", Napi::Function::New(env, Op, "op"));
  exports.Set("opNames", Napi::Function::New(env, OpNames, "opNames"));
  exports.Set("fromArray", Napi::Function::New(env, FromArray, "fromArray"));
}

}  // namespace perceptual
