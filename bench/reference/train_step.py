"""PyTorch reference for `npm run bench:engine` and the trainer benchmark: one training step
(forward, backward, Adam) of Johnson's transformation network (the paper's: batch norm,
unpadded residual blocks, 40 px reflection pad) plus a VGG loss network truncated at the
deepest loss layer (default: VGG-16, content relu3_3; style relu1_2, relu2_2, relu3_3, relu4_3;
TV), the same network and losses as the TypeScript side. Weights are random: this measures
speed only.

usage: /usr/bin/python3 train_step.py SIZE BATCH THREADS PRECISION(float32|bf16) ITERS [ARCH [VGG CONTENT STYLE]]
  VGG: vgg16 | vgg19; CONTENT: one layer (relu3_3); STYLE: comma-separated layers (relu1_2,relu2_2,relu3_3,relu4_3)
prints one JSON line: {"median_s": ..., "times": [...]}; ITERS 0: after the warm-up prints "ready", then times
one step per line read from stdin and prints {"s": seconds} for each
"""
import json, sys, time
import torch
import torch.nn as nn
import torch.nn.functional as F

size, batch, threads, precision, iters = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
arch = sys.argv[6] if len(sys.argv) > 6 else "paper"
vgg_arch = sys.argv[7] if len(sys.argv) > 7 else "vgg16"
content_layer = sys.argv[8] if len(sys.argv) > 8 else "relu3_3"
style_layers = sys.argv[9].split(",") if len(sys.argv) > 9 else ["relu1_2", "relu2_2", "relu3_3", "relu4_3"]
torch.set_num_threads(threads)
torch.manual_seed(0)


class ConvBN(nn.Module):
    def __init__(self, cin, cout, k, stride, padding, norm="batch", transpose=False):
        super().__init__()
        if transpose:
            self.conv = nn.ConvTranspose2d(cin, cout, k, stride=stride, padding=padding, output_padding=1)
        else:
            self.conv = nn.Conv2d(cin, cout, k, stride=stride, padding=padding)
        self.norm = nn.BatchNorm2d(cout) if norm == "batch" else nn.InstanceNorm2d(cout, affine=True)

    def forward(self, x):
        return F.relu(self.norm(self.conv(x)))


class Res(nn.Module):
    """The paper's residual block: two unpadded 3x3 convs, shortcut centre-cropped by 2 px."""
    def __init__(self, c, norm="batch"):
        super().__init__()
        self.c1 = nn.Conv2d(c, c, 3)
        self.n1 = nn.BatchNorm2d(c) if norm == "batch" else nn.InstanceNorm2d(c, affine=True)
        self.c2 = nn.Conv2d(c, c, 3)
        self.n2 = nn.BatchNorm2d(c) if norm == "batch" else nn.InstanceNorm2d(c, affine=True)

    def forward(self, x):
        y = self.n2(self.c2(F.relu(self.n1(self.c1(x)))))
        return x[:, :, 2:-2, 2:-2] + y


class PaperNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(40), ConvBN(3, 32, 9, 1, 4), ConvBN(32, 64, 3, 2, 1), ConvBN(64, 128, 3, 2, 1),
            *[Res(128) for _ in range(5)],
            ConvBN(128, 64, 3, 2, 1, transpose=True), ConvBN(64, 32, 3, 2, 1, transpose=True))
        self.out = nn.Conv2d(32, 3, 9, padding=4)

    def forward(self, x):
        return (torch.tanh(self.out(self.body(x))) + 1) * 127.5


CONVS_PER_BLOCK = {"vgg16": [2, 2, 3, 3, 3], "vgg19": [2, 2, 4, 4, 4]}
BLOCK_CHANNELS = [64, 128, 256, 512, 512]


def vgg_config(arch, deepest):
    """Layer list ([channels | "M"]) and ReLU names up to `deepest`, as the TypeScript Vgg builds it."""
    cfg, names = [], []
    for b, count in enumerate(CONVS_PER_BLOCK[arch]):
        if b > 0:
            cfg.append("M")
            names.append(None)
        for p in range(1, count + 1):
            cfg.append(BLOCK_CHANNELS[b])
            names.append(f"relu{b + 1}_{p}")
            if names[-1] == deepest:
                return cfg, names
    raise SystemExit(f"no layer {deepest} in {arch}")


def depth(name):
    b, p = name[4:].split("_")
    return int(b) * 10 + int(p)


CFG, NAMES = vgg_config(vgg_arch, max([content_layer, *style_layers], key=depth))


class Vgg(nn.Module):
    def __init__(self):
        super().__init__()
        layers, cin = [], 3
        for v in CFG:
            if v == "M":
                layers.append(nn.MaxPool2d(2))
            else:
                layers.append(nn.Conv2d(cin, v, 3, padding=1))
                cin = v
        self.layers = nn.ModuleList(layers)
        for p in self.parameters():
            p.requires_grad_(False)
        self.register_buffer("mean", torch.tensor([103.939, 116.779, 123.68]).view(1, 3, 1, 1))

    def forward(self, x):
        x = x.flip(1) - self.mean
        out = {}
        for layer, name in zip(self.layers, NAMES):
            x = layer(x)
            if name is not None:
                x = F.relu(x)
                out[name] = x
        return out


def gram(f):
    n, c, h, w = f.shape
    m = f.float().reshape(n, c, h * w)
    return torch.bmm(m, m.transpose(1, 2)) / (c * h * w)


net = PaperNet()
vgg = Vgg().eval()
cl = precision == "bf16"
if cl:
    net = net.to(memory_format=torch.channels_last)
    vgg = vgg.to(memory_format=torch.channels_last)
opt = torch.optim.Adam(net.parameters(), lr=1e-3)
style = torch.rand(1, 3, size, size) * 255
with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=cl):
    sf = vgg(style.contiguous(memory_format=torch.channels_last) if cl else style)
    style_grams = {k: gram(sf[k]) for k in style_layers}
x = torch.rand(batch, 3, size, size) * 255
if cl:
    x = x.contiguous(memory_format=torch.channels_last)


def step():
    opt.zero_grad(set_to_none=True)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=cl):
        y = net(x)
        fy = vgg(y)
        with torch.no_grad():
            fx = vgg(x)
        content = F.mse_loss(fy[content_layer].float(), fx[content_layer].float())
        style_loss = sum(((gram(fy[k]) - style_grams[k]) ** 2).sum(dim=(1, 2)).mean() for k in style_grams)
        yf = y.float()
        tv = ((yf[:, :, :, 1:] - yf[:, :, :, :-1]) ** 2).sum() + ((yf[:, :, 1:, :] - yf[:, :, :-1, :]) ** 2).sum()
        loss = content + 5e-5 * style_loss + 1e-6 * tv
    loss.backward()
    opt.step()
    return loss.item()


step()  # warm-up
if iters == 0:
    # Serve mode (bench/engine.ts --interleave): one timed step per input line, so the two
    # engines alternate step by step and see the same machine load.
    print("ready", flush=True)
    for _ in sys.stdin:
        t0 = time.perf_counter()
        step()
        print(json.dumps({"s": time.perf_counter() - t0}), flush=True)
    sys.exit(0)
times = []
for _ in range(iters):
    t0 = time.perf_counter()
    step()
    times.append(time.perf_counter() - t0)
times.sort()
print(json.dumps({"median_s": times[len(times) // 2], "times": times}))
