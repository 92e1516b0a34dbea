"""PyTorch reference for `perceptual bench`: feed-forward inference of a transformation network
with the *same weights* as the TypeScript side — what a user would run instead of this project.

The network is rebuilt from the config stored in the safetensors metadata (as
src/models/transformer-net.ts builds it: same layer order, same state-dict names, reflection
padding in steps for pads wider than the image), and the weights are read from the safetensors
file directly (the `safetensors` package is not needed).

usage: /usr/bin/python3 stylize.py WEIGHTS.safetensors --threads N --precision float32|bf16
                                   [--sizes 256,512,1024] [--iters 3] [--batch 1]
                                   [--input in.f32 --shape N,3,H,W --output out.f32] [--float64]
  float32: plain eval-mode inference (contiguous NCHW, no autocast) under torch.inference_mode();
  bf16:    torch.autocast('cpu', bfloat16) with the model and input in channels_last.
  --input/--output: run once on raw little-endian float32 NCHW data (RGB 0-255) and write the
  output the same way (for PSNR against our float32 path); --float64 runs that in float64.
prints one JSON line: {"median_s": {"256": ...}, "times": {...}, "max_rss_kb": ..., "torch": ...}
"""
import argparse, json, re, resource, struct, sys, time
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    meta = header.pop("__metadata__", {}) or {}
    base = 8 + n
    dtypes = {"F32": np.float32, "F64": np.float64, "I64": np.int64, "I32": np.int32, "U8": np.uint8}
    tensors = {}
    for name, e in header.items():
        b, end = e["data_offsets"]
        if e["dtype"] in dtypes:
            arr = np.frombuffer(data[base + b : base + end], dtype=dtypes[e["dtype"]]).reshape(e["shape"])
        elif e["dtype"] == "BF16":
            raw = np.frombuffer(data[base + b : base + end], dtype=np.uint16).astype(np.uint32) << 16
            arr = raw.view(np.float32).reshape(e["shape"])
        else:
            raise SystemExit(f"{path}: unsupported dtype {e['dtype']} for {name}")
        tensors[name] = torch.from_numpy(arr.copy())
    return tensors, meta


def reflect_pad(x, l, r, t, b):
    """numpy's reflect for any pad (PyTorch's ReflectionPad2d needs pad < size): steps, as padding.ts."""
    while l + r + t + b > 0:
        h, w = x.shape[-2], x.shape[-1]
        if (w == 1 and l + r > 0) or (h == 1 and t + b > 0):
            x = F.pad(x, (l if w == 1 else 0, r if w == 1 else 0, t if h == 1 else 0, b if h == 1 else 0), mode="replicate")
            if w == 1: l = r = 0
            if h == 1: t = b = 0
            continue
        s = (min(l, w - 1), min(r, w - 1), min(t, h - 1), min(b, h - 1))
        x = F.pad(x, s, mode="reflect")
        l, r, t, b = l - s[0], r - s[1], t - s[2], b - s[3]
    return x


class ReflectionPad(nn.Module):
    def __init__(self, p):
        super().__init__()
        self.p = p

    def forward(self, x):
        return reflect_pad(x, self.p, self.p, self.p, self.p)


class ScaledTanh(nn.Module):
    def forward(self, x):
        return torch.tanh(x) * 127.5 + 127.5


def norm_layer(kind, c):
    if kind == "none": return nn.Identity()
    return nn.BatchNorm2d(c) if kind == "batch" else nn.InstanceNorm2d(c, affine=True)


class Scale(nn.Module):
    def __init__(self, f):
        super().__init__()
        self.f = f

    def forward(self, x):
        return x * self.f


def keys_cubic(t):
    t = abs(t)
    if t <= 1: return 1.5 * t**3 - 2.5 * t**2 + 1
    if t < 2: return -0.5 * t**3 + 2.5 * t**2 - 4 * t + 2
    return 0.0


class BicubicUpsample(nn.Module):
    """MATLAB imresize(x, r) (Keys a=-0.5) with replicated edges: for each output phase p the
    sample sits at (p + 0.5)/r - 0.5 input pixels; its 1-D taps over offsets -2..2, outer products
    for the 2-D phases, as a grouped 5x5 conv + pixel shuffle. Kept in float32 under autocast."""
    def __init__(self, r):
        super().__init__()
        self.r = r
        w1 = []
        for p in range(r):
            x = (p + 0.5) / r - 0.5
            w = np.array([keys_cubic(x - d) for d in range(-2, 3)])
            w1.append(w / w.sum())
        k = np.einsum("ai,bj->abij", np.array(w1), np.array(w1)).reshape(r * r, 1, 5, 5)
        self.register_buffer("kernel", torch.from_numpy(np.tile(k, (3, 1, 1, 1)).astype(np.float32)), persistent=False)

    def forward(self, x):
        with torch.autocast("cpu", enabled=False):
            x = x.float()
            y = F.conv2d(F.pad(x, (2, 2, 2, 2), mode="replicate"), self.kernel.to(x.dtype), groups=3)
            return F.pixel_shuffle(y, self.r)


class ResidualBlock(nn.Module):
    def __init__(self, c, norm, padding):
        super().__init__()
        self.padding = padding
        p = 1 if padding == "zero" else 0
        self.conv1 = nn.Conv2d(c, c, 3, padding=p)
        self.norm1 = norm_layer(norm, c)
        self.conv2 = nn.Conv2d(c, c, 3, padding=p)
        self.norm2 = norm_layer(norm, c)

    def pad(self, x):
        if self.padding == "reflect": return reflect_pad(x, 1, 1, 1, 1)
        if self.padding == "replicate": return F.pad(x, (1, 1, 1, 1), mode="replicate")
        return x

    def forward(self, x):
        y = F.relu(self.norm1(self.conv1(self.pad(x))))
        y = self.norm2(self.conv2(self.pad(y)))
        if self.padding == "none":
            x = x[:, :, 2:-2, 2:-2]
        return x + y


def parse_arch(arch):
    layers = []
    for tok in arch.split(","):
        tok = tok.strip()
        m = re.fullmatch(r"([cf])(\d+)s(\d+)-(\d+)", tok)
        if m:
            layers.append(("conv" if m[1] == "c" else "full", int(m[2]), int(m[3]), int(m[4])))
            continue
        m = re.fullmatch(r"([duUC])(\d+)", tok)
        if m:
            layers.append(({"d": "down", "u": "up", "U": "upsample", "C": "convBlock"}[m[1]], int(m[2])))
            continue
        m = re.fullmatch(r"x(\d+)", tok)
        if m:
            layers.append(("shuffle", int(m[1])))
            continue
        m = re.fullmatch(r"R(\d+)(?:x(\d+))?", tok)
        if m:
            layers += [("residual", int(m[1]))] * (int(m[2]) if m[2] else 1)
            continue
        raise SystemExit(f"architecture {arch}: cannot parse {tok}")
    return layers


def start_padding(layers):
    scale, pad = 1.0, 0
    for l in layers:
        if l[0] in ("residual", "convBlock"): pad += int(2 / scale)
        elif l[0] == "conv": scale /= l[2]
        elif l[0] == "down": scale /= 2
        elif l[0] == "up": scale *= 2
        elif l[0] == "full": scale *= l[2]
        elif l[0] in ("upsample", "shuffle"): scale *= l[1]
    return pad


class TransformerNet(nn.Module):
    """src/models/transformer-net.ts, module for module (so the state-dict names match)."""
    def __init__(self, config):
        super().__init__()
        layers = parse_arch(config["arch"])
        norm, padding = config["norm"], config["padding"]
        self.scale = config.get("factor", 1) if config["kind"] == "sr" else 1
        seq = []
        if padding == "reflect-start":
            sp = start_padding(layers)
            if sp > 0: seq.append(ReflectionPad(sp))
        residual = config.get("residual") == "bicubic"
        if residual: seq.append(Scale(1 / 255))
        last = len(layers) - 1
        while last > 0 and layers[last][0] == "shuffle": last -= 1
        ch = 3
        res_padding = {"reflect-start": "none", "zero": "zero", "reflect": "reflect", "replicate": "replicate"}[padding]
        for i, l in enumerate(layers):
            nxt, needs_norm, needs_relu = ch, True, True
            kind = l[0]
            if kind == "conv":
                k, s, out = l[1], l[2], l[3]
                p = (k - 1) // 2
                if padding == "reflect" and p > 0: seq.append(ReflectionPad(p)); p = 0
                elif padding == "replicate" and p > 0: seq.append(nn.ReplicationPad2d(p)); p = 0
                # residual nets: no bias on the output layer (transformer-net.ts)
                seq.append(nn.Conv2d(ch, out, k, stride=s, padding=p, bias=not (residual and i == last))); nxt = out
            elif kind == "full":
                k, s, out = l[1], l[2], l[3]
                seq.append(nn.ConvTranspose2d(ch, out, k, stride=s, padding=(k - 1) // 2, output_padding=s - 1)); nxt = out
            elif kind == "down":
                seq.append(nn.Conv2d(ch, l[1], 3, stride=2, padding=1)); nxt = l[1]
            elif kind == "up":
                seq.append(nn.ConvTranspose2d(ch, l[1], 3, stride=2, padding=1, output_padding=1)); nxt = l[1]
            elif kind == "upsample":
                seq.append(nn.Upsample(scale_factor=l[1], mode="nearest"))
            elif kind == "convBlock":
                block = []
                for j in range(2):
                    p = 0
                    if padding == "reflect": block.append(ReflectionPad(1))
                    elif padding == "replicate": block.append(nn.ReplicationPad2d(1))
                    elif padding == "zero": p = 1
                    block.append(nn.Conv2d(l[1], l[1], 3, padding=p))
                    block.append(norm_layer(norm, l[1]))
                    if j == 0: block.append(nn.ReLU())
                seq.append(nn.Sequential(*block)); needs_norm = False
            elif kind == "residual":
                seq.append(ResidualBlock(l[1], norm, res_padding)); needs_norm = needs_relu = False
            elif kind == "shuffle":
                seq.append(nn.PixelShuffle(l[1])); nxt = ch // (l[1] * l[1]); needs_norm = needs_relu = False
            if i < last:
                if needs_norm: seq.append(norm_layer(norm, nxt))
                if needs_relu: seq.append(nn.ReLU())
            ch = nxt
        seq.append(Scale(255) if residual else ScaledTanh())
        self.model = nn.Sequential(*seq)
        self.skip = BicubicUpsample(self.scale) if residual else None

    def forward(self, x):
        h, w = x.shape[-2], x.shape[-1]
        y = self.model(x)[:, :, : h * self.scale, : w * self.scale]
        return y if self.skip is None else self.skip(x) + y


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("weights")
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--precision", choices=["float32", "bf16"], default="float32")
    ap.add_argument("--sizes", default="")
    ap.add_argument("--iters", type=int, default=3)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--input")
    ap.add_argument("--shape")
    ap.add_argument("--output")
    ap.add_argument("--float64", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    tensors, meta = read_safetensors(a.weights)
    if "config" not in meta: raise SystemExit(f"{a.weights}: no network config in the metadata")
    net = TransformerNet(json.loads(meta["config"]))
    state = net.state_dict()
    missing = [k for k in state if k not in tensors]
    if missing: raise SystemExit(f"{a.weights}: missing {missing[:5]}")
    net.load_state_dict({k: tensors[k] for k in state}, strict=True)
    net.eval()
    cl = a.precision == "bf16"
    if a.float64: net = net.double()
    if cl: net = net.to(memory_format=torch.channels_last)

    def run(x):
        with torch.inference_mode():
            if cl:
                with torch.autocast("cpu", dtype=torch.bfloat16):
                    return net(x.contiguous(memory_format=torch.channels_last)).float()
            return net(x)

    result = {"torch": torch.__version__, "threads": torch.get_num_threads(), "precision": a.precision}
    if a.input:
        shape = [int(v) for v in a.shape.split(",")]
        x = torch.from_numpy(np.fromfile(a.input, dtype="<f4").reshape(shape).copy())
        if a.float64: x = x.double()
        y = run(x)
        y.float().contiguous().numpy().astype("<f4").tofile(a.output)
        result["output_shape"] = list(y.shape)
    medians, times = {}, {}
    for s in [int(v) for v in a.sizes.split(",") if v]:
        g = torch.Generator().manual_seed(0)
        x = torch.rand(a.batch, 3, s, s, generator=g) * 255
        run(x)  # warm-up: oneDNN primitive creation, allocator
        ts = []
        for _ in range(a.iters):
            t0 = time.perf_counter()
            run(x)
            ts.append(time.perf_counter() - t0)
        times[str(s)] = ts
        medians[str(s)] = sorted(ts)[len(ts) // 2]
    result["median_s"], result["times"] = medians, times
    result["max_rss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps(result))


if __name__ == "__main__":
    main()
