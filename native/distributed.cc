// Data-parallel collectives on libtorch's own c10d: a TCPStore (rank 0 hosts it) and a
// ProcessGroupGloo, set up exactly as python's torch.distributed.init_process_group('gloo')
// does (same store prefixes, same store-based barrier, same sequence-number handshake), so a
// python3-torch process can join a TypeScript rank in one process group.
//
// Every call that can wait on a peer (init, collectives, store reads, destroy) runs on a
// libuv worker thread and returns a Promise: the event loop stays free (Ctrl-C, signals,
// timers), and a dead peer or a timeout rejects the Promise with an Error that names the
// operation, the rank and the shapes — never a hang without end, never an abort.
//
// Built only when the libtorch headers have c10d and the gloo headers are installed
// (Debian: libgloo-dev); otherwise every entry point throws an Error that says how to get it.
#include "common.h"

#include <chrono>
#include <memory>
#include <mutex>
#include <thread>

// PERCEPTUAL_NO_C10D=1 builds the fallback (what a machine without libgloo-dev gets).
#if !defined(PERCEPTUAL_NO_C10D) && __has_include(<torch/csrc/distributed/c10d/TCPStore.hpp>) && __has_include(<gloo/algorithm.h>)
#define PERCEPTUAL_HAVE_C10D 1
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO 1
#endif
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif

namespace perceptual {

namespace {

[[maybe_unused]] constexpr const char* kMissing =
    "distributed training is not available in this build of the engine: the gloo headers were not found when it was compiled "
    "(Debian/Ubuntu: sudo apt-get install -y libgloo-dev && npm rebuild perceptual; or scripts/install-system-deps.sh engine)";

// Runs `body` on a libuv worker thread; the Promise resolves with `result(env)` or rejects with
// an Error "<context>: <what went wrong>".
class FnWorker : public Napi::AsyncWorker {
 public:
  FnWorker(Napi::Env env, std::string context, std::function<void()> body, std::function<Napi::Value(Napi::Env)> result = nullptr)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), context_(std::move(context)), body_(std::move(body)), result_(std::move(result)) {}

  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    try {
      body_();
    } catch (const c10::Error& e) {
      SetError(context_ + ": " + e.what_without_backtrace());
    } catch (const std::exception& e) {
      SetError(context_ + ": " + e.what());
    } catch (...) {
      SetError(context_ + ": unknown C++ exception");
    }
  }
  void OnOK() override { deferred_.Resolve(result_ ? result_(Env()) : Env().Undefined()); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::string context_;
  std::function<void()> body_;
  std::function<Napi::Value(Napi::Env)> result_;
};

[[maybe_unused]] Napi::Promise run(Napi::Env env, std::string context, std::function<void()> body, std::function<Napi::Value(Napi::Env)> result = nullptr) {
  auto* w = new FnWorker(env, std::move(context), std::move(body), std::move(result));
  auto p = w->Promise();
  w->Queue();
  return p;
}

[[maybe_unused]] std::string shapesOf(const std::vector<at::Tensor>& ts) {
  std::ostringstream s;
  size_t n = 0;
  for (const auto& t : ts) n += static_cast<size_t>(t.numel());
  s << ts.size() << (ts.size() == 1 ? " tensor" : " tensors") << " (" << n << " elements";
  if (ts.size() <= 3) {
    s << ":";
    for (const auto& t : ts) s << " " << describe(t);
  }
  s << ")";
  return s.str();
}

[[maybe_unused]] std::vector<at::Tensor> tensorList(Napi::Env env, const Napi::Value& v, const std::string& op) {
  if (!v.IsArray()) throw Napi::TypeError::New(env, op + ": expected an array of tensors");
  auto arr = v.As<Napi::Array>();
  std::vector<at::Tensor> out;
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Value e = arr.Get(i);
    if (!TensorWrap::IsInstance(env, e)) throw Napi::TypeError::New(env, op + ": element " + std::to_string(i) + " is not a tensor");
    auto* w = TensorWrap::Unwrap(e.As<Napi::Object>());
    if (!w->tensor.defined()) throw Napi::Error::New(env, op + ": tensor " + std::to_string(i) + " was disposed");
    out.push_back(w->tensor);
  }
  if (out.empty()) throw Napi::Error::New(env, op + ": no tensors");
  return out;
}

[[maybe_unused]] int64_t optInt(const Napi::Object& o, const char* key, int64_t dflt) {
  Napi::Value v = o.Get(key);
  return v.IsNumber() ? v.As<Napi::Number>().Int64Value() : dflt;
}

}  // namespace

#ifdef PERCEPTUAL_HAVE_C10D

namespace {

// One process group: the raw TCPStore, python's "default_pg" view of it, and the gloo group.
struct Group {
  int rank = 0;
  int size = 1;
  std::string where;  // "127.0.0.1:29500"
  std::chrono::milliseconds timeout{0};
  c10::intrusive_ptr<c10d::TCPStore> tcp;
  c10::intrusive_ptr<c10d::Store> userStore;  // prefix "perceptual" (our own keys)
  c10::intrusive_ptr<c10d::ProcessGroupGloo> pg;
  std::mutex mu;

  c10::intrusive_ptr<c10d::ProcessGroupGloo> get(const std::string& op) {
    std::lock_guard<std::mutex> lock(mu);
    if (!pg) throw std::runtime_error(op + " after destroy(): the process group was destroyed");
    return pg;
  }
  c10::intrusive_ptr<c10d::Store> store(const std::string& op) {
    std::lock_guard<std::mutex> lock(mu);
    if (!userStore) throw std::runtime_error(op + " after destroy(): the process group was destroyed");
    return userStore;
  }
  std::string who() const { return "rank " + std::to_string(rank) + " of " + std::to_string(size); }
};

c10d::ReduceOp parseOp(Napi::Env env, const std::string& s) {
  if (s == "sum" || s == "avg") return c10d::ReduceOp::SUM;  // avg = sum, then ÷ size (gloo has no AVG)
  if (s == "max") return c10d::ReduceOp::MAX;
  if (s == "min") return c10d::ReduceOp::MIN;
  throw Napi::Error::New(env, "allreduce: unknown op '" + s + "' (sum, avg, max, min)");
}

// Groups tensors into buckets of one dtype and at most `cap` bytes (a tensor larger than the
// cap gets a bucket of its own), in order.
std::vector<std::vector<size_t>> buckets(const std::vector<at::Tensor>& ts, int64_t cap) {
  std::vector<std::vector<size_t>> out;
  int64_t bytes = 0;
  for (size_t i = 0; i < ts.size(); i++) {
    int64_t b = ts[i].numel() * static_cast<int64_t>(ts[i].element_size());
    bool fresh = out.empty() || ts[out.back().front()].scalar_type() != ts[i].scalar_type() || bytes + b > cap;
    if (fresh) {
      out.emplace_back();
      bytes = 0;
    }
    out.back().push_back(i);
    bytes += b;
  }
  return out;
}

// Runs `collective` on every bucket (flattened into one contiguous buffer unless the bucket is
// one contiguous tensor already), waits for all, applies `after` to each buffer and copies the
// results back into the caller's tensors.
void bucketed(const std::vector<at::Tensor>& ts, int64_t cap,
              const std::function<c10::intrusive_ptr<c10d::Work>(std::vector<at::Tensor>&)>& collective,
              const std::function<void(at::Tensor&)>& after) {
  at::NoGradGuard noGrad;  // parameters are leaves that require grad: copy into them as data
  struct Pending {
    std::vector<size_t> idx;
    std::vector<at::Tensor> buf;
    bool flat;
    c10::intrusive_ptr<c10d::Work> work;
  };
  std::vector<Pending> pending;
  for (auto& idx : buckets(ts, cap)) {
    Pending p;
    p.idx = idx;
    p.flat = !(idx.size() == 1 && ts[idx[0]].is_contiguous());
    if (p.flat) {
      std::vector<at::Tensor> parts;
      for (size_t i : idx) parts.push_back(ts[i].reshape({-1}));
      p.buf.push_back(at::cat(parts));
    } else {
      p.buf.push_back(ts[idx[0]]);
    }
    pending.push_back(std::move(p));
  }
  // Queue every bucket first (gloo runs them on its worker threads), then wait in order.
  for (auto& p : pending) p.work = collective(p.buf);
  std::exception_ptr first;
  for (auto& p : pending) {
    try {
      p.work->wait();
    } catch (...) {
      if (!first) first = std::current_exception();
    }
  }
  if (first) std::rethrow_exception(first);
  for (auto& p : pending) {
    if (after) after(p.buf[0]);
    if (!p.flat) continue;
    int64_t off = 0;
    for (size_t i : p.idx) {
      auto& t = const_cast<at::Tensor&>(ts[i]);
      int64_t n = t.numel();
      t.copy_(p.buf[0].narrow(0, off, n).view(t.sizes()));
      off += n;
    }
  }
}

Napi::Object wrapGroup(Napi::Env env, std::shared_ptr<Group> g) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("rank", Napi::Number::New(env, g->rank));
  o.Set("size", Napi::Number::New(env, g->size));
  o.Set("backend", Napi::String::New(env, "gloo"));

  // allreduce(tensors, op = 'sum', bucketBytes = 25 MiB, timeoutMs?) → Promise<void>, in place.
  o.Set("allreduce", Napi::Function::New(env, [g](const Napi::CallbackInfo& info) -> Napi::Value {
    Napi::Env env = info.Env();
    auto ts = tensorList(env, info[0], "allreduce");
    std::string opName = info.Length() > 1 && info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "sum";
    auto op = parseOp(env, opName);
    int64_t cap = info.Length() > 2 && info[2].IsNumber() ? info[2].As<Napi::Number>().Int64Value() : (25 << 20);
    auto timeout = info.Length() > 3 && info[3].IsNumber() ? std::chrono::milliseconds(info[3].As<Napi::Number>().Int64Value()) : c10d::kUnsetTimeout;
    std::string ctx = "allreduce(" + opName + ") of " + shapesOf(ts) + " on " + g->who();
    bool avg = opName == "avg";
    int size = g->size;
    return run(env, ctx, [g, ts, op, cap, timeout, avg, size]() {
      auto pg = g->get("allreduce");
      c10d::AllreduceOptions opts;
      opts.reduceOp = op;
      opts.timeout = timeout;
      bucketed(ts, cap, [&](std::vector<at::Tensor>& buf) { return pg->allreduce(buf, opts); },
               avg ? std::function<void(at::Tensor&)>([size](at::Tensor& b) { b.div_(size); }) : nullptr);
    });
  }));

  // broadcast(tensors, root = 0, bucketBytes, timeoutMs?) → Promise<void>, in place.
  o.Set("broadcast", Napi::Function::New(env, [g](const Napi::CallbackInfo& info) -> Napi::Value {
    Napi::Env env = info.Env();
    auto ts = tensorList(env, info[0], "broadcast");
    int64_t root = info.Length() > 1 && info[1].IsNumber() ? info[1].As<Napi::Number>().Int64Value() : 0;
    if (root < 0 || root >= g->size) throw Napi::RangeError::New(env, "broadcast: root " + std::to_string(root) + " is not a rank of a group of " + std::to_string(g->size));
    int64_t cap = info.Length() > 2 && info[2].IsNumber() ? info[2].As<Napi::Number>().Int64Value() : (25 << 20);
    auto timeout = info.Length() > 3 && info[3].IsNumber() ? std::chrono::milliseconds(info[3].As<Napi::Number>().Int64Value()) : c10d::kUnsetTimeout;
    std::string ctx = "broadcast from rank " + std::to_string(root) + " of " + shapesOf(ts) + " on " + g->who();
    return run(env, ctx, [g, ts, root, cap, timeout]() {
      auto pg = g->get("broadcast");
      c10d::BroadcastOptions opts;
      opts.rootRank = root;
      opts.timeout = timeout;
      bucketed(ts, cap, [&](std::vector<at::Tensor>& buf) { return pg->broadcast(buf, opts); }, nullptr);
    });
  }));

  o.Set("barrier", Napi::Function::New(env, [g](const Napi::CallbackInfo& info) -> Napi::Value {
    auto timeout = info.Length() > 0 && info[0].IsNumber() ? std::chrono::milliseconds(info[0].As<Napi::Number>().Int64Value()) : c10d::kUnsetTimeout;
    return run(info.Env(), "barrier on " + g->who(), [g, timeout]() {
      c10d::BarrierOptions opts;
      opts.timeout = timeout;
      g->get("barrier")->barrier(opts)->wait();
    });
  }));

  // Key/value on the group's TCPStore (own namespace): set, get (waits for the key), add.
  o.Set("storeSet", Napi::Function::New(env, [g](const Napi::CallbackInfo& info) -> Napi::Value {
    std::string key = info[0].As<Napi::String>().Utf8Value(), value = info[1].As<Napi::String>().Utf8Value();
    return run(info.Env(), "store set '" + key + "' on " + g->who(), [g, key, value]() {
      g->store("store set")->set(key, std::vector<uint8_t>(value.begin(), value.end()));
    });
  }));
  o.Set("storeGet", Napi::Function::New(env, [g](const Napi::CallbackInfo& info) -> Napi::Value {
    std::string key = info[0].As<Napi::String>().Utf8Value();
    auto timeout = info.Length() > 1 && info[1].IsNumber() ? std::chrono::milliseconds(info[1].As<Napi::Number>().Int64Value()) : g->timeout;
    auto out = std::make_shared<std::string>();
    return run(
        info.Env(), "store get '" + key + "' on " + g->who() + " (waited up to " + std::to_string(timeout.count()) + " ms)",
        [g, key, timeout, out]() {
          auto s = g->store("store get");
          s->wait({key}, timeout);
          auto v = s->get(key);
          out->assign(v.begin(), v.end());
        },
        [out](Napi::Env env) -> Napi::Value { return Napi::String::New(env, *out); });
  }));
  o.Set("storeAdd", Napi::Function::New(env, [g](const Napi::CallbackInfo& info) -> Napi::Value {
    std::string key = info[0].As<Napi::String>().Utf8Value();
    int64_t delta = info[1].As<Napi::Number>().Int64Value();
    auto out = std::make_shared<int64_t>(0);
    return run(
        info.Env(), "store add '" + key + "' on " + g->who(), [g, key, delta, out]() { *out = g->store("store add")->add(key, delta); },
        [out](Napi::Env env) -> Napi::Value { return Napi::Number::New(env, static_cast<double>(*out)); });
  }));

  // destroy() → Promise<void>: drops the group and the store (joins gloo's threads off the main thread).
  o.Set("destroy", Napi::Function::New(env, [g](const Napi::CallbackInfo& info) -> Napi::Value {
    return run(info.Env(), "destroy on " + g->who(), [g]() {
      c10::intrusive_ptr<c10d::ProcessGroupGloo> pg;
      c10::intrusive_ptr<c10d::Store> us;
      c10::intrusive_ptr<c10d::TCPStore> tcp;
      {
        std::lock_guard<std::mutex> lock(g->mu);
        pg = std::move(g->pg);
        us = std::move(g->userStore);
        tcp = std::move(g->tcp);
      }
      pg.reset();
      us.reset();
      tcp.reset();
    });
  }));
  return o;
}

}  // namespace

static Napi::Value DistInit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject()) throw Napi::TypeError::New(env, "distInit: expected an options object");
  Napi::Object o = info[0].As<Napi::Object>();
  auto g = std::make_shared<Group>();
  std::string host = o.Get("host").IsString() ? o.Get("host").As<Napi::String>().Utf8Value() : "127.0.0.1";
  int64_t port = optInt(o, "port", c10d::TCPStoreOptions::kDefaultPort);
  g->rank = static_cast<int>(optInt(o, "rank", -1));
  g->size = static_cast<int>(optInt(o, "worldSize", -1));
  g->timeout = std::chrono::milliseconds(optInt(o, "timeoutMs", 30 * 60 * 1000));
  bool isServer = o.Get("isServer").IsBoolean() ? o.Get("isServer").As<Napi::Boolean>().Value() : g->rank == 0;
  std::vector<std::string> ifaces;
  if (o.Get("interfaces").IsArray()) {
    auto a = o.Get("interfaces").As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); i++) ifaces.push_back(a.Get(i).As<Napi::String>().Utf8Value());
  }
  if (g->size < 1 || g->rank < 0 || g->rank >= g->size) {
    throw Napi::RangeError::New(env, "distInit: rank " + std::to_string(g->rank) + " is not in 0.." + std::to_string(g->size - 1) + " (world size " + std::to_string(g->size) + ")");
  }
  if (port < 1 || port > 65535) throw Napi::RangeError::New(env, "distInit: port " + std::to_string(port) + " is not in 1..65535");
  g->where = host + ":" + std::to_string(port);
  std::string ctx = "distributed init (" + g->who() + (isServer ? ", hosting" : ", joining") + " the TCPStore at " + g->where + ")";
  return run(
      env, ctx,
      [g, host, port, isServer, ifaces]() {
        c10d::TCPStoreOptions so;
        so.port = static_cast<std::uint16_t>(port);
        so.isServer = isServer;
        so.numWorkers = static_cast<std::size_t>(g->size);
        so.waitWorkers = true;
        so.timeout = g->timeout;
        so.multiTenant = true;  // as python's env:// and tcp:// rendezvous
        g->tcp = c10::make_intrusive<c10d::TCPStore>(host, so);
        // torch.distributed.init_process_group's layout of the store: "default_pg/" for the
        // default group's bookkeeping, "default_pg/0/" for the gloo group itself.
        auto base = c10::make_intrusive<c10d::PrefixStore>("default_pg", g->tcp);
        auto pgStore = c10::make_intrusive<c10d::PrefixStore>("0", base);
        g->userStore = c10::make_intrusive<c10d::PrefixStore>("perceptual", g->tcp);
        auto opts = c10d::ProcessGroupGloo::Options::create(g->timeout);
        if (!ifaces.empty()) {
          for (const auto& i : ifaces) opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(i));
        } else {
          opts->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
        }
        opts->threads = static_cast<int>(opts->devices.size() * 2);
        g->pg = c10::make_intrusive<c10d::ProcessGroupGloo>(pgStore, g->rank, g->size, opts);
        // python's _store_based_barrier (key of the first group created after the default one).
        const std::string key = "store_based_barrier_key:1";
        base->add(key, 1);
        auto start = std::chrono::steady_clock::now();
        for (int64_t n = base->add(key, 0); n != g->size; n = base->add(key, 0)) {
          if (std::chrono::steady_clock::now() - start > g->timeout) {
            throw std::runtime_error("timed out after " + std::to_string(g->timeout.count()) + " ms waiting for all ranks to join (" + std::to_string(n) + " of " + std::to_string(g->size) + " arrived)");
          }
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        g->pg->setSequenceNumberForGroup();
      },
      [g](Napi::Env env) -> Napi::Value { return wrapGroup(env, g); });
}

static Napi::Value DistInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("available", Napi::Boolean::New(env, true));
  Napi::Array b = Napi::Array::New(env);
  b.Set(0u, Napi::String::New(env, "gloo"));
  o.Set("backends", b);
  return o;
}

#else  // no c10d / gloo headers at build time

static Napi::Value DistInit(const Napi::CallbackInfo& info) { throw Napi::Error::New(info.Env(), kMissing); }

static Napi::Value DistInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("available", Napi::Boolean::New(env, false));
  o.Set("reason", Napi::String::New(env, kMissing));
  o.Set("backends", Napi::Array::New(env));
  return o;
}

#endif

void InitDistributed(Napi::Env env, Napi::Object exports) {
  exports.Set("distInit", Napi::Function::New(env, DistInit));
  exports.Set("distInfo", Napi::Function::New(env, DistInfo));
}

}  // namespace perceptual
