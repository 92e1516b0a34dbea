#!/usr/bin/env python3
"""Continue the shipped styles' training runs on a lent GPU machine (issue 13, item 5).

Why a PyTorch twin and not `perceptual train-style --device cuda`: the lent machine (the `device` tool) has
CUDA PyTorch but no Node, and what travels there is capped at 64 MiB — the repository alone is 31 MB and a Node
binary 24 MB compressed, which leaves no room for the loss network and the photos. So this file re-states, in
PyTorch, exactly the objective `src/train/style-task.ts` trains (and nothing else):

  total = λc·ℓfeat(relu3_3) + Σ λs_j·ℓstyle(relu1_2, relu2_2, relu3_3, relu4_3) + λTV·ℓTV
          + λstab·ℓstab (Gupta et al.; shift ≤ 3 px, σ 3)  + λgrid·ℓgrid (4×4 phase means over 128-px windows)

with the network run as everywhere else: the input mirrored outward by `edgePad` px, the output cropped back.
Every definition below names the TypeScript file it mirrors. `scripts/device/check-twin.ts` holds the two
side by side: on the same weights and validation photos both compute the same loss terms (a test runs it
with Debian's python3-torch). The runs it continues are the TypeScript runs: it reads their weights
(`bundle-style-runs.ts` packs them) and writes `perceptual-checkpoint-1` files (weights, Adam moments, state)
that `train-style --resume` continues on the CPU.

Usage (on the device machine; see scripts/device/README.md):
  python3 scripts/device/train_styles_cuda.py --bundle .device/bundle --out $OUT --seconds 420
Here, for the check: python3 scripts/device/train_styles_cuda.py --bundle B --validate-only --device cpu
"""
import argparse
import json
import math
import multiprocessing as mp
import os
import struct
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

# ---------------------------------------------------------------- safetensors (src/nn/safetensors.ts)


def read_safetensors(path):
    with open(path, 'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]
        header = json.loads(f.read(n))
        base = 8 + n
        meta = header.pop('__metadata__', {})
        out = {}
        for k, v in header.items():
            if v['dtype'] != 'F32':
                raise ValueError(f'{path}: tensor {k} is {v["dtype"]}, expected F32')
            a, b = v['data_offsets']
            f.seek(base + a)
            out[k] = torch.frombuffer(bytearray(f.read(b - a)), dtype=torch.float32).reshape(v['shape']).clone()
    return out, meta


def write_safetensors(path, tensors, meta):
    header, blobs, off = {'__metadata__': meta}, [], 0
    for k, t in tensors.items():
        b = t.detach().to('cpu', torch.float32).contiguous().numpy().tobytes()
        header[k] = {'dtype': 'F32', 'shape': list(t.shape), 'data_offsets': [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(',', ':')).encode()
    h += b' ' * ((8 - len(h) % 8) % 8)
    tmp = path + '.tmp'
    with open(tmp, 'wb') as f:
        f.write(struct.pack('<Q', len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)  # atomic, like src/train/checkpoint.ts


# ---------------------------------------------------------------- loss network (src/models/vgg/*)

VGG19_BLOCKS = [2, 2, 4, 4, 4]
CAFFE_MEAN_BGR = [103.939, 116.779, 123.68]


def read_tfjs(folder):
    """Keras TF.js layers weights, dequantised (value = q·scale + min), by name; only the shards that exist."""
    m = json.load(open(os.path.join(folder, 'model.json')))
    out = {}
    for group in m['weightsManifest']:
        shards = [os.path.join(folder, p) for p in group['paths']]
        sizes = [os.path.getsize(p) if os.path.exists(p) else None for p in shards]
        off = 0
        for w in group['weights']:
            q = w.get('quantization')
            width = {'uint8': 1, 'uint16': 2, 'float16': 2}[q['dtype']] if q else 4
            count = math.prod(w['shape'])
            nbytes = count * width
            data, pos = bytearray(), off
            while len(data) < nbytes:  # read across shard boundaries
                i, start = 0, pos
                while sizes[i] is not None and start >= sizes[i]:
                    start -= sizes[i]
                    i += 1
                    if i == len(shards):
                        break
                if i == len(shards) or sizes[i] is None:
                    data = None
                    break
                with open(shards[i], 'rb') as f:
                    f.seek(start)
                    chunk = f.read(min(nbytes - len(data), sizes[i] - start))
                data += chunk
                pos += len(chunk)
            off += nbytes
            if data is None:
                continue  # a shard that is not there: the layer is absent
            if q and q['dtype'] == 'float16':
                t = torch.frombuffer(data, dtype=torch.float16).float()
            elif q:
                t = torch.frombuffer(data, dtype=torch.uint8 if width == 1 else torch.int16).float()
                if width == 2:
                    t = t % 65536
                t = t * q['scale'] + q['min']
            else:
                t = torch.frombuffer(data, dtype=torch.float32).clone()
            out[w['name']] = t.reshape(w['shape'])
    return out


class Vgg19(nn.Module):
    """VGG-19 to a given relu, caffe preprocessing; float32 sources first, then quantised ones (combined.ts)."""

    def __init__(self, sources, deepest):
        super().__init__()
        weights = {}
        for s in reversed(sources):  # earlier sources win
            weights.update(read_tfjs(s))
        self.convs, self.names = nn.ModuleList(), []
        chans, last = 3, (int(deepest[4]), int(deepest[6]))
        for b, n in enumerate(VGG19_BLOCKS, 1):
            for i in range(1, n + 1):
                if (b, i) > last:
                    break
                k, bias = weights[f'block{b}_conv{i}/kernel'], weights[f'block{b}_conv{i}/bias']
                conv = nn.Conv2d(chans, k.shape[3], 3, padding=1)
                conv.weight.data.copy_(k.permute(3, 2, 0, 1))
                conv.bias.data.copy_(bias)
                self.convs.append(conv)
                self.names.append((b, i))
                chans = k.shape[3]
        self.requires_grad_(False)
        self.register_buffer('mean', torch.tensor(CAFFE_MEAN_BGR).view(1, 3, 1, 1))

    def forward(self, x, layers):
        y, out, want = x.flip(1) - self.mean, {}, set(layers)
        prev_block = 1
        for conv, (b, i) in zip(self.convs, self.names):
            if b != prev_block:
                y = F.max_pool2d(y, 2, 2)
                prev_block = b
            y = F.relu(conv(y))
            name = f'relu{b}_{i}'
            if name in want:
                out[name] = y
            if len(out) == len(want):
                break
        return out


# ---------------------------------------------------------------- transformation network (src/models/transformer-net.ts)


class ResidualBlock(nn.Module):
    """Unpadded 3×3 conv, IN, ReLU, conv, IN; the shortcut cropped by 2 px (residual-block.ts, padding 'none')."""

    def __init__(self, c):
        super().__init__()
        self.conv1, self.norm1 = nn.Conv2d(c, c, 3), nn.InstanceNorm2d(c, affine=True)
        self.conv2, self.norm2 = nn.Conv2d(c, c, 3), nn.InstanceNorm2d(c, affine=True)

    def forward(self, x):
        y = self.norm2(self.conv2(F.relu(self.norm1(self.conv1(x)))))
        return y + x[:, :, 2:-2, 2:-2]


class Upsample(nn.Module):
    def __init__(self, mode):
        super().__init__()
        self.mode = mode

    def forward(self, x):
        size = (x.shape[2] * 2, x.shape[3] * 2)
        if self.mode == 'nearest':
            return F.interpolate(x, size=size, mode='nearest')
        return F.interpolate(x, size=size, mode='bilinear', align_corners=False)


class ScaledTanh(nn.Module):
    def forward(self, x):
        return torch.tanh(x) * 127.5 + 127.5


def build_style_net(arch):
    """The style architectures the shipped runs use: c9s1-N, dN, RN, rcN / rbN, c9s1-3 with instance norm and
    'reflect-start' padding (reflection pad of Σ 2 px × scale per R block in front; c layers zero-pad)."""
    layers = arch.split(',')
    scale, start, mods = 1, 0, []
    for l in layers:
        if l.startswith('R'):
            start += int(2 / scale)
        elif l.startswith('d'):
            scale /= 2
        elif l.startswith('rc') or l.startswith('rb'):
            scale *= 2
    seq = [nn.ReflectionPad2d(start)] if start else []
    ch = 3
    for j, l in enumerate(layers):
        last = j == len(layers) - 1
        if l.startswith('c'):
            k, out = l[1:].split('s1-')
            k, out = int(k), int(out)
            seq.append(nn.Conv2d(ch, out, k, padding=(k - 1) // 2))
        elif l.startswith('d'):
            out = int(l[1:])
            seq.append(nn.Conv2d(ch, out, 3, stride=2, padding=1))
        elif l.startswith('R'):
            out = int(l[1:])
            seq.append(ResidualBlock(out))
            ch = out
            continue
        elif l.startswith('rc') or l.startswith('rb'):
            out = int(l[2:])
            seq.append(Upsample('nearest' if l.startswith('rc') else 'bilinear'))
            seq.append(nn.Conv2d(ch, out, 3, padding=1))
        else:
            raise ValueError(f'architecture layer {l!r} is not one this twin knows (arch {arch})')
        ch = out
        if not last:
            seq += [nn.InstanceNorm2d(out, affine=True), nn.ReLU()]
    seq.append(ScaledTanh())
    net = nn.Module()
    net.model = nn.Sequential(*seq)
    return net


def params_in_ts_order(net):
    """Module.parameters() of the TypeScript network: registration order = the state-dict order."""
    return [p for _, p in net.named_parameters()]


def run_net(net, x, edge_pad):
    """src/train/style-task.ts forward(): mirror by edge_pad, run, crop back (and to the input size)."""
    h, w = x.shape[2], x.shape[3]
    if edge_pad:
        x = F.pad(x, (edge_pad,) * 4, mode='reflect')
    y = net.model(x)
    return y[:, :, edge_pad:edge_pad + h, edge_pad:edge_pad + w]


# ---------------------------------------------------------------- losses (src/losses/*.ts)


def gram(f):
    n, c, h, w = f.shape
    psi = f.float().reshape(n, c, h * w)
    with torch.autocast(device_type=f.device.type, enabled=False):
        return torch.bmm(psi, psi.transpose(1, 2)) / (c * h * w)


def tv_loss(y):
    y = y.float()
    return ((y[:, :, :, 1:] - y[:, :, :, :-1]) ** 2).sum((1, 2, 3)).add(((y[:, :, 1:, :] - y[:, :, :-1, :]) ** 2).sum((1, 2, 3))).mean()


def grid_loss(y, window, period=4):
    n, c, h, w = y.shape
    nh, nw = h // window, w // window
    p = y.float()[:, :, :nh * window, :nw * window].reshape(n, c, nh, window // period, period, nw, window // period, period).mean((3, 6))
    return (p - p.mean((3, 5), keepdim=True)).square().mean()


def overlap(size, s):
    return (s, 0, size - s) if s >= 0 else (0, -s, size + s)


class StyleObjective:
    def __init__(self, vgg, cfg, style_image):
        self.vgg, self.cfg = vgg, cfg
        lc = cfg['lossConfig']
        self.content_layers = [l for l, w in zip(lc['contentLayers'], self.per_layer(lc['contentWeight'], lc['contentLayers'])) if w > 0]
        self.content_w = [w for w in self.per_layer(lc['contentWeight'], lc['contentLayers']) if w > 0]
        sw = self.per_layer(lc['styleWeights'], lc['styleLayers'])
        self.style_layers = [l for l, w in zip(lc['styleLayers'], sw) if w > 0]
        self.style_w = [w for w in sw if w > 0]
        self.tv_w = lc['tvWeight']
        with torch.no_grad():
            f = vgg(style_image, self.style_layers)
            self.targets = {l: gram(f[l]) for l in self.style_layers}

    @staticmethod
    def per_layer(w, layers):
        return [w] * len(layers) if isinstance(w, (int, float)) else list(w)

    def perceptual(self, y, x):
        """PerceptualLoss.forward: weighted content, style, tv."""
        f = self.vgg(y, list(dict.fromkeys(self.content_layers + self.style_layers)))
        with torch.no_grad():
            ft = self.vgg(x, self.content_layers)
        content = sum(w * (f[l].float() - ft[l].float()).square().mean() for l, w in zip(self.content_layers, self.content_w))
        style = sum(w * (gram(f[l]) - self.targets[l]).square().sum((1, 2)).mean() for l, w in zip(self.style_layers, self.style_w))
        tv = self.tv_w * tv_loss(y) if self.tv_w > 0 else torch.zeros((), device=y.device)
        return {'content': content, 'style': style, 'tv': tv}

    def training(self, net, x, gen):
        """StyleTask.losses: the perceptual terms, then stability and grid as configured."""
        pad = self.cfg.get('edgePad', 0)
        y = run_net(net, x, pad)
        parts = self.perceptual(y, x)
        st = self.cfg.get('stability')
        if st and st['weight']:
            s = st['shift']
            dx, dy = (int(v) for v in torch.randint(-s, s + 1, (2,), generator=gen))
            h, w = x.shape[2], x.shape[3]
            ay, by, ly = overlap(h, dy)
            ax, bx, lx = overlap(w, dx)
            xs = x[:, :, ay:ay + ly, ax:ax + lx]
            if st['noise'] > 0:
                xs = xs + torch.randn(xs.shape, generator=gen, device='cpu').to(x.device) * st['noise']
            yp = run_net(net, xs, pad)
            target = y.float()[:, :, ay:ay + ly, ax:ax + lx]
            parts['stability'] = st['weight'] * (yp.float() - target).square().mean((1, 2, 3)).mean()
        g = self.cfg.get('grid')
        if g and g['weight']:
            parts['grid'] = g['weight'] * grid_loss(y, g['window'])
        return sum(parts.values()), parts


# ---------------------------------------------------------------- the bundle (scripts/device/bundle-style-runs.ts)


def load_raw(path, shape):
    with open(path, 'rb') as f:
        return torch.frombuffer(bytearray(f.read()), dtype=torch.uint8).reshape(shape).permute(0, 3, 1, 2).float()


def load_photos(folder, files):
    from PIL import Image
    out = torch.empty(len(files), 3, 256, 256, dtype=torch.uint8)
    for i, name in enumerate(files):
        img = Image.open(os.path.join(folder, name)).convert('RGB')
        out[i] = torch.frombuffer(bytearray(img.tobytes()), dtype=torch.uint8).reshape(img.size[1], img.size[0], 3).permute(2, 0, 1)
    return out


def validate(obj, net, val, batch, pad):
    sums, n = {}, 0
    with torch.no_grad():
        for i in range(0, val.shape[0], batch):
            x = val[i:i + batch]
            t = obj.perceptual(run_net(net, x, pad), x)
            t['total'] = sum(t.values())
            for k, v in t.items():
                sums[k] = sums.get(k, 0.0) + float(v) * x.shape[0]
            n += x.shape[0]
    return {k: v / n for k, v in sums.items()}


def lr_at(it, frac, peak, final, warmup):
    """Fresh Adam moments (the bundle carries weights only): a linear warm-up over `warmup` iterations, then a
    cosine to `final` over the time window (`frac` of it gone), so the rate is annealed whatever the speed."""
    if it < warmup:
        return peak * (it + 1) / warmup
    return final + 0.5 * (peak - final) * (1 + math.cos(math.pi * min(1.0, frac)))


def train_one(args, run, device_index):
    torch.manual_seed(run['seed'])
    dev = torch.device(args.device if args.device == 'cpu' else f'cuda:{device_index}')
    # cudnn.benchmark stays off: the stability term's input changes shape every step (49 shifts), each a new autotune
    b = args.bundle
    torch.set_num_threads(2)

    def say(*a):
        print(f'[{run["key"]}]', *a, flush=True)

    cfg = run['config']
    vgg = Vgg19(args.vgg_first + [os.path.join(b, s) for s in run['vgg']], 'relu4_3').to(dev)
    style = load_raw(os.path.join(b, run['styleRaw']), [1] + run['styleShape']).to(dev)
    obj = StyleObjective(vgg, cfg, style)
    if run['net']['norm'] != 'instance' or run['net']['padding'] != 'reflect-start':
        raise ValueError(f'{run["key"]}: the twin builds instance-norm, reflect-start networks only, not {run["net"]}')
    net = build_style_net(run['net']['arch'])
    weights, _ = read_safetensors(os.path.join(b, run['init']))
    net.load_state_dict({k[len('model.'):] if k.startswith('model.model.') else k: v for k, v in weights.items()}, strict=True)
    net.to(dev)
    mf = torch.channels_last if dev.type == 'cuda' else torch.contiguous_format
    net.to(memory_format=mf)
    vgg.to(memory_format=mf)
    val = load_raw(os.path.join(b, 'val.u8'), args.val_shape).to(dev)
    pad = cfg.get('edgePad', 0)
    v0 = validate(obj, net, val, cfg['batchSize'], pad)
    say('start', run['iteration'], 'val', json.dumps(v0))
    if args.validate_only:  # the terms scripts/device/check-twin.ts prints, for the comparison
        with torch.no_grad():
            x = val[:4]
            y = run_net(net, x, pad)
            ay, _, ly = overlap(x.shape[2], -1)
            ax, _, lx = overlap(x.shape[3], 2)
            yp = run_net(net, x[:, :, ay:ay + ly, ax:ax + lx], pad)
            stab = float((yp - y[:, :, ay:ay + ly, ax:ax + lx]).square().mean((1, 2, 3)).mean())
            grid = float(grid_loss(y, (cfg.get('grid') or {}).get('window', 128)))
        return {'key': run['key'], 'val': v0, 'grid': grid, 'stability': stab}
    photos = load_photos(os.path.join(b, 'photos'), args.photos).to(dev)
    params = params_in_ts_order(net)
    opt = torch.optim.Adam(params, lr=args.lr)
    gen = torch.Generator().manual_seed(run['seed'] + 1)
    use_amp = dev.type == 'cuda' or args.amp
    t0, deadline = time.time(), time.time() + args.seconds
    it, last_save = 0, time.time()
    N = photos.shape[0]
    order = torch.randperm(N, generator=gen)
    pos = 0

    def save(tag, v=None):
        st = json.loads(run['state'])
        st['iteration'] = run['iteration'] + it
        st['optimizer'] = {'lr': opt.param_groups[0]['lr'], 'steps': [it] * len(params)}
        st['extra'] = {**(st.get('extra') or {}), 'device': {'gpu': torch.cuda.get_device_name(dev) if dev.type == 'cuda' else 'cpu', 'iterations': it,
                                                             'seconds': round(time.time() - t0, 1), 'photos': N, 'fromIteration': run['iteration'],
                                                             'lrPeak': args.lr, 'lrFinal': args.lr_final, 'twin': 'scripts/device/train_styles_cuda.py'}}
        if v:
            st['extra']['lastVal'] = {k: v[k] for k in ('total', 'content', 'style', 'tv')}
        tensors = {f'model.{k}': v for k, v in net.state_dict().items()}
        for i, p in enumerate(params):
            s = opt.state.get(p)
            if s:
                tensors[f'optim.{i}.exp_avg'] = s['exp_avg']
                tensors[f'optim.{i}.exp_avg_sq'] = s['exp_avg_sq']
        write_safetensors(os.path.join(args.out, f'{run["key"]}.safetensors'), tensors, {'format': 'perceptual-checkpoint-1', 'state': json.dumps(st)})
        say(tag, 'saved at', st['iteration'])

    while time.time() < deadline:
        if pos + cfg['batchSize'] > N:
            order, pos = torch.randperm(N, generator=gen), 0
        x = photos[order[pos:pos + cfg['batchSize']].to(dev)].float().contiguous(memory_format=mf)
        pos += cfg['batchSize']
        lr = lr_at(it, (time.time() - t0) / args.seconds, args.lr, args.lr_final, args.warmup)
        for g in opt.param_groups:
            g['lr'] = lr
        opt.zero_grad(set_to_none=True)
        with torch.autocast(device_type=dev.type, dtype=torch.bfloat16, enabled=use_amp):
            loss, parts = obj.training(net, x, gen)
        loss.backward()
        if not torch.isfinite(loss):
            say('non-finite loss at', it, {k: float(v) for k, v in parts.items()}, '- stopping; the last saved checkpoint stands')
            break
        opt.step()
        it += 1
        if it == args.warmup:
            say(f'{it / (time.time() - t0):.1f} it/s')
        if it % 500 == 0:
            say(it, f'lr {lr:.2e}', {k: round(float(v), 1) for k, v in parts.items()})
        if time.time() - last_save > args.save_every:
            save('periodic')
            last_save = time.time()
    v1 = validate(obj, net, val, cfg['batchSize'], pad)
    say('end', run['iteration'] + it, 'val', json.dumps(v1))
    save('final', v1)
    return {'key': run['key'], 'iterations': it, 'seconds': time.time() - t0, 'val0': v0, 'val1': v1}


def worker(args, run, idx, q):
    try:
        q.put(train_one(args, run, idx))
    except Exception as e:  # one style's failure must not take the others down
        import traceback
        traceback.print_exc()
        q.put({'key': run['key'], 'error': repr(e)})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--bundle', required=True)
    ap.add_argument('--out', default='out/device')
    ap.add_argument('--seconds', type=float, default=420)
    ap.add_argument('--lr', type=float, default=3e-4)
    ap.add_argument('--lr-final', type=float, default=1e-5)
    ap.add_argument('--warmup', type=int, default=200)
    ap.add_argument('--save-every', type=float, default=90)
    ap.add_argument('--device', default='cuda')
    ap.add_argument('--only', default='')
    ap.add_argument('--amp', action='store_true', help='bf16 autocast on the CPU too (to try the GPU\'s mixed-precision path here)')
    ap.add_argument('--validate-only', action='store_true')
    ap.add_argument('--vgg-first', action='append', default=[], help='TF.js weights folder read before the bundle\'s (e.g. the float32 vgg19-keras)')
    args = ap.parse_args()
    plan = json.load(open(os.path.join(args.bundle, 'plan.json')))
    args.photos, args.val_shape = plan['photos'], plan['valShape']
    os.makedirs(args.out, exist_ok=True)
    runs = [r for r in plan['runs'] if not args.only or r['key'] in args.only.split(',')]
    if args.validate_only or len(runs) == 1:
        results = [train_one(args, r, 0) for r in runs]
    else:
        ctx = mp.get_context('spawn')
        q = ctx.Queue()
        procs = [ctx.Process(target=worker, args=(args, r, 0, q)) for r in runs]
        for p in procs:
            p.start()
        results = [q.get() for _ in procs]
        for p in procs:
            p.join()
    json.dump(results, open(os.path.join(args.out, 'results.json'), 'w'), indent=1)
    print(json.dumps(results, indent=1))


if __name__ == '__main__':
    main()
