// Optimizers: libtorch's own Adam and L-BFGS, so updates are bit-for-bit PyTorch's.
// Adam's per-parameter state (step, exp_avg, exp_avg_sq) can be read and written as tensors,
// which is what an exact --resume needs.
#include "common.h"

#include <torch/optim/adam.h>
#include <torch/optim/lbfgs.h>

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

double numberOr(const Napi::Object& o, const char* key, double dflt) {
  Napi::Value v = o.Get(key);
  return v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : dflt;
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
    Napi::Object o = info.Length() > 1 && info[1].IsObject() ? info[1].As<Napi::Object>() : Napi::Object::New(env);
    torch::optim::AdamOptions opts(numberOr(o, "lr", 1e-3));
    opts.betas(std::make_tuple(numberOr(o, "beta1", 0.9), numberOr(o, "beta2", 0.999)));
    opts.eps(numberOr(o, "eps", 1e-8));
    opts.weight_decay(numberOr(o, "weightDecay", 0));
    opt_ = std::make_unique<torch::optim::Adam>(params_, opts);
  }

 private:
  Napi::Value Step(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), "Adam.step", [&] {
      opt_->step();
      return info.Env().Undefined();
    });
  }

  Napi::Value ZeroGrad(const Napi::CallbackInfo& info) {
    for (auto& p : params_) p.mutable_grad().reset();
    return info.Env().Undefined();
  }

  Napi::Value SetLr(const Napi::CallbackInfo& info) {
    double lr = info[0].As<Napi::Number>().DoubleValue();
    for (auto& g : opt_->param_groups()) static_cast<torch::optim::AdamOptions&>(g.options()).lr(lr);
    return info.Env().Undefined();
  }

  // → Array<null | {step, expAvg, expAvgSq}>, one entry per parameter, in order.
  Napi::Value GetState(const Napi::CallbackInfo& info) {
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
      Napi::Object o = v.As<Napi::Object>();
      Napi::Value ea = o.Get("expAvg"), eq = o.Get("expAvgSq");
      if (!TensorWrap::IsInstance(env, ea) || !TensorWrap::IsInstance(env, eq)) throw Napi::TypeError::New(env, "Adam.setState: entry " + std::to_string(i) + " needs expAvg and expAvgSq tensors");
      at::Tensor a = TensorWrap::Unwrap(ea.As<Napi::Object>())->tensor, b = TensorWrap::Unwrap(eq.As<Napi::Object>())->tensor;
      if (!a.defined() || !b.defined() || a.sizes() != params_[i].sizes() || b.sizes() != params_[i].sizes())
        throw Napi::Error::New(env, "Adam.setState: entry " + std::to_string(i) + " has shapes " + describe(a) + ", " + describe(b) + " but the parameter is " + describe(params_[i]));
      auto s = std::make_unique<torch::optim::AdamParamState>();
      s->step(static_cast<int64_t>(o.Get("step").As<Napi::Number>().Int64Value()));
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
    Napi::Object o = info.Length() > 1 && info[1].IsObject() ? info[1].As<Napi::Object>() : Napi::Object::New(env);
    torch::optim::LBFGSOptions opts(numberOr(o, "lr", 1));
    opts.max_iter(static_cast<int64_t>(numberOr(o, "maxIter", 20)));
    if (o.Get("maxEval").IsNumber()) opts.max_eval(static_cast<int64_t>(numberOr(o, "maxEval", 25)));
    opts.tolerance_grad(numberOr(o, "toleranceGrad", 1e-7));
    opts.tolerance_change(numberOr(o, "toleranceChange", 1e-9));
    opts.history_size(static_cast<int64_t>(numberOr(o, "historySize", 100)));
    Napi::Value ls = o.Get("lineSearch");
    if (ls.IsString()) opts.line_search_fn(ls.As<Napi::String>().Utf8Value());
    opt_ = std::make_unique<torch::optim::LBFGS>(params_, opts);
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
