// Optimizers: libtorch's own Adam and L-BFGS, so updates are bit-for-bit PyTorch's.
// Adam's per-parameter state (step, exp_avg, exp_avg_sq) can be read and written as tensors,
// which is what an exact --resume needs.
#include "common.h"

#include <torch/optim/adam.h>
#include <torch/optim/lbfgs.h>

#include <cmath>

namespace perceptual {

namespace {

std::vector<at::Tensor> paramsFrom(const Napi::Env& env, const Napi::Value& v, const char* who) {
  if (!v.IsArray()) throw Napi::TypeError::New(env, std::string(who) + ": parameters must be an array of Tensors");
  Napi::Array a = v.As<Napi::Array>();
  std::vector<at::Tensor> out;
  for (uint32_t i = 0; i < a.Length(); i++) {
    Napi::Value e = a.Get(i);
    if (!TensorWrap::IsInstance(env, e)) throw Napi::TypeError::New(env, std::string(who) + ": parameter " + std::to_string(i) + " is not a Tensor");
    at::Tensor t = TensorWrap::Unwrap(e.As<Napi::Object>())->tensor;
    if (!t.defined()) throw Napi::TypeError::New(env, std::string(who) + ": parameter " + std::to_string(i) + " is disposed");
    if (!t.requires_grad()) throw Napi::TypeError::New(env, std::string(who) + ": parameter " + std::to_string(i) + " " + describe(t) + " does not require grad");
    out.push_back(t);
  }
  return out;
}

// Options arrive validated from src/engine/optim.ts (which owns the defaults); this is the
// last line: a missing option takes libtorch's default, a present one must be a finite number.
c10::optional<double> option(const Napi::Env& env, const Napi::Object& o, const char* who, const char* key) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return c10::nullopt;
  double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : NAN;
  if (!std::isfinite(d)) throw Napi::TypeError::New(env, std::string(who) + ": option " + key + " must be a finite number, got " + v.ToString().Utf8Value());
  return d;
}

Napi::Object optionsObject(const Napi::CallbackInfo& info, const char* who) {
  if (info.Length() < 2 || info[1].IsUndefined() || info[1].IsNull()) return Napi::Object::New(info.Env());
  if (!info[1].IsObject()) throw Napi::TypeError::New(info.Env(), std::string(who) + ": options must be an object");
  return info[1].As<Napi::Object>();
}

std::string describeParams(const std::vector<at::Tensor>& ps) {
  std::string s = std::to_string(ps.size()) + " parameter" + (ps.size() == 1 ? "" : "s");
  if (!ps.empty()) s += " (first " + describe(ps[0]) + ")";
  return s;
}

class AdamWrap : public Napi::ObjectWrap<AdamWrap> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "NativeAdam", {
      InstanceMethod<&AdamWrap::Step>("step"),
      InstanceMethod<&AdamWrap::ZeroGrad>("zeroGrad"),
      InstanceMethod<&AdamWrap::SetLr>("setLr"),
      InstanceMethod<&AdamWrap::GetState>("getState"),
      InstanceMethod<&AdamWrap::SetState>("setState"),
    });
  }

  explicit AdamWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<AdamWrap>(info) {
    Napi::Env env = info.Env();
    params_ = paramsFrom(env, info[0], "Adam");
    Napi::Object o = optionsObject(info, "Adam");
    torch::optim::AdamOptions opts;
    if (auto v = option(env, o, "Adam", "lr")) opts.lr(*v);
    auto b1 = option(env, o, "Adam", "beta1"), b2 = option(env, o, "Adam", "beta2");
    if (b1 || b2) opts.betas(std::make_tuple(b1.value_or(std::get<0>(opts.betas())), b2.value_or(std::get<1>(opts.betas()))));
    if (auto v = option(env, o, "Adam", "eps")) opts.eps(*v);
    if (auto v = option(env, o, "Adam", "weightDecay")) opts.weight_decay(*v);
    std::ostringstream ctx;
    ctx << "new Adam(" << describeParams(params_) << ", {lr: " << opts.lr() << ", betas: [" << std::get<0>(opts.betas()) << ", " << std::get<1>(opts.betas())
        << "], eps: " << opts.eps() << ", weightDecay: " << opts.weight_decay() << "})";
    // libtorch checks the options here (TORCH_CHECK): outside guarded() a bad value aborted.
    guarded(env, ctx.str(), [&] {
      opt_ = std::make_unique<torch::optim::Adam>(params_, opts);
      return 0;
    });
  }

 private:
  Napi::Value Step(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), "Adam.step", [&] {
      opt_->step();
      return info.Env().Undefined();
    });
  }

  Napi::Value ZeroGrad(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), "Adam.zeroGrad", [&] {
      for (auto& p : params_) p.mutable_grad().reset();
      return info.Env().Undefined();
    });
  }

  Napi::Value SetLr(const Napi::CallbackInfo& info) {
    double lr = numberArg(info, 0, "Adam.setLr", "lr");
    if (!std::isfinite(lr) || lr < 0) throw Napi::RangeError::New(info.Env(), "Adam.setLr: lr must be a finite number >= 0, got " + std::to_string(lr));
    return guarded(info.Env(), "Adam.setLr(" + std::to_string(lr) + ")", [&] {
      for (auto& g : opt_->param_groups()) static_cast<torch::optim::AdamOptions&>(g.options()).lr(lr);
      return info.Env().Undefined();
    });
  }

  // → Array<null | {step, expAvg, expAvgSq}>, one entry per parameter, in order.
  Napi::Value GetState(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), "Adam.getState(" + describeParams(params_) + ")", [&] { return GetStateImpl(info); });
  }

  Napi::Value GetStateImpl(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto arr = Napi::Array::New(env, params_.size());
    auto& state = opt_->state();
    for (size_t i = 0; i < params_.size(); i++) {
      auto it = state.find(c10::guts::to_string(params_[i].unsafeGetTensorImpl()));
      if (it == state.end()) {
        arr.Set(static_cast<uint32_t>(i), env.Null());
        continue;
      }
      auto& s = static_cast<torch::optim::AdamParamState&>(*it->second);
      Napi::Object o = Napi::Object::New(env);
      o.Set("step", Napi::Number::New(env, static_cast<double>(s.step())));
      o.Set("expAvg", TensorWrap::NewInstance(env, s.exp_avg().clone()));
      o.Set("expAvgSq", TensorWrap::NewInstance(env, s.exp_avg_sq().clone()));
      arr.Set(static_cast<uint32_t>(i), o);
    }
    return arr;
  }

  Napi::Value SetState(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), "Adam.setState(" + describeParams(params_) + ")", [&] { return SetStateImpl(info); });
  }

  Napi::Value SetStateImpl(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!info[0].IsArray() || info[0].As<Napi::Array>().Length() != params_.size())
      throw Napi::TypeError::New(env, "Adam.setState: expected an array with one entry per parameter (" + std::to_string(params_.size()) + ")");
    Napi::Array arr = info[0].As<Napi::Array>();
    auto& state = opt_->state();
    for (size_t i = 0; i < params_.size(); i++) {
      Napi::Value v = arr.Get(static_cast<uint32_t>(i));
      std::string key = c10::guts::to_string(params_[i].unsafeGetTensorImpl());
      if (v.IsNull() || v.IsUndefined()) {
        state.erase(key);
        continue;
      }
      if (!v.IsObject()) throw Napi::TypeError::New(env, "Adam.setState: entry " + std::to_string(i) + " must be null or {step, expAvg, expAvgSq}");
      Napi::Object o = v.As<Napi::Object>();
      Napi::Value ea = o.Get("expAvg"), eq = o.Get("expAvgSq"), st = o.Get("step");
      double step = st.IsNumber() ? st.As<Napi::Number>().DoubleValue() : -1;
      if (!std::isfinite(step) || step < 0 || step != std::floor(step) || step > 9007199254740991.0)
        throw Napi::RangeError::New(env, "Adam.setState: entry " + std::to_string(i) + " step must be a non-negative integer, got " + st.ToString().Utf8Value());
      if (!TensorWrap::IsInstance(env, ea) || !TensorWrap::IsInstance(env, eq)) throw Napi::TypeError::New(env, "Adam.setState: entry " + std::to_string(i) + " needs expAvg and expAvgSq tensors");
      at::Tensor a = TensorWrap::Unwrap(ea.As<Napi::Object>())->tensor, b = TensorWrap::Unwrap(eq.As<Napi::Object>())->tensor;
      if (!a.defined() || !b.defined() || a.sizes() != params_[i].sizes() || b.sizes() != params_[i].sizes())
        throw Napi::Error::New(env, "Adam.setState: entry " + std::to_string(i) + " has shapes " + describe(a) + ", " + describe(b) + " but the parameter is " + describe(params_[i]));
      auto s = std::make_unique<torch::optim::AdamParamState>();
      s->step(static_cast<int64_t>(step));
      s->exp_avg(a.to(params_[i].options()).clone());
      s->exp_avg_sq(b.to(params_[i].options()).clone());
      state[key] = std::move(s);
    }
    return env.Undefined();
  }

  std::vector<at::Tensor> params_;
  std::unique_ptr<torch::optim::Adam> opt_;
};

class LbfgsWrap : public Napi::ObjectWrap<LbfgsWrap> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "NativeLBFGS", {InstanceMethod<&LbfgsWrap::Step>("step")});
  }

  explicit LbfgsWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<LbfgsWrap>(info) {
    Napi::Env env = info.Env();
    params_ = paramsFrom(env, info[0], "LBFGS");
    Napi::Object o = optionsObject(info, "LBFGS");
    torch::optim::LBFGSOptions opts;
    auto count = [&](const char* key) -> c10::optional<int64_t> {
      auto v = option(env, o, "LBFGS", key);
      if (v && (*v < 1 || *v != std::floor(*v) || *v > 1e9)) throw Napi::RangeError::New(env, std::string("LBFGS: option ") + key + " must be an integer in [1, 1e9], got " + std::to_string(*v));
      if (!v) return c10::nullopt;
      return static_cast<int64_t>(*v);
    };
    if (auto v = option(env, o, "LBFGS", "lr")) opts.lr(*v);
    if (auto v = count("maxIter")) opts.max_iter(*v);
    if (auto v = count("maxEval")) opts.max_eval(*v);
    if (auto v = option(env, o, "LBFGS", "toleranceGrad")) opts.tolerance_grad(*v);
    if (auto v = option(env, o, "LBFGS", "toleranceChange")) opts.tolerance_change(*v);
    if (auto v = count("historySize")) opts.history_size(*v);
    Napi::Value ls = o.Get("lineSearch");
    if (!ls.IsUndefined() && !ls.IsNull()) {
      if (!ls.IsString() || ls.As<Napi::String>().Utf8Value() != "strong_wolfe") throw Napi::TypeError::New(env, "LBFGS: option lineSearch must be 'strong_wolfe' or absent, got " + ls.ToString().Utf8Value());
      opts.line_search_fn("strong_wolfe");
    }
    std::ostringstream ctx;
    ctx << "new LBFGS(" << describeParams(params_) << ", {lr: " << opts.lr() << ", maxIter: " << opts.max_iter() << ", historySize: " << opts.history_size() << "})";
    guarded(env, ctx.str(), [&] {
      if (!(opts.lr() > 0)) throw std::invalid_argument("lr must be > 0");
      if (opts.tolerance_grad() < 0 || opts.tolerance_change() < 0) throw std::invalid_argument("tolerances must be >= 0");
      opt_ = std::make_unique<torch::optim::LBFGS>(params_, opts);
      return 0;
    });
  }

 private:
  // step(closure): closure() must zero the gradients, compute the loss, call backward and
  // return the loss Tensor — exactly torch.optim.LBFGS's contract.
  Napi::Value Step(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!info[0].IsFunction()) throw Napi::TypeError::New(env, "LBFGS.step(closure) needs a function");
    Napi::Function fn = info[0].As<Napi::Function>();
    auto closure = [&]() -> at::Tensor {
      Napi::Value r = fn.Call({});
      if (!TensorWrap::IsInstance(env, r)) throw Napi::TypeError::New(env, "LBFGS closure must return the loss Tensor");
      at::Tensor t = TensorWrap::Unwrap(r.As<Napi::Object>())->tensor;
      if (!t.defined()) throw Napi::TypeError::New(env, "LBFGS closure returned a disposed tensor");
      return t.detach().clone();
    };
    return guarded(env, "LBFGS.step", [&] { return TensorWrap::NewInstance(env, opt_->step(closure)); });
  }

  std::vector<at::Tensor> params_;
  std::unique_ptr<torch::optim::LBFGS> opt_;
};

}  // namespace

void InitOptim(Napi::Env env, Napi::Object exports, AddonData* data) {
  Napi::Function adam = AdamWrap::Init(env);
  data->adamCtor = Napi::Persistent(adam);
  exports.Set("Adam", adam);
  Napi::Function lbfgs = LbfgsWrap::Init(env);
  data->lbfgsCtor = Napi::Persistent(lbfgs);
  exports.Set("LBFGS", lbfgs);
}

}  // namespace perceptual
