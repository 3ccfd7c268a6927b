#!/usr/bin/python3
"""PyTorch golden fixtures for package nn (layers, ResNets, SGD, checkpoints).

Run by hand with Debian's PyTorch; CI only reads the committed files:

    /usr/bin/python3 tools/golden/gen_nn.py
    /usr/bin/python3 tools/golden/gen_nn.py --check STATE.safetensors [--logits FILE]

The first form rewrites nn/testdata/golden/. The second loads a state dict
written by the Go code into the PyTorch model it describes and compares the
eval logits with the companion file. tools/golden/README.md lists every
fixture, tensor name and metadata key.
"""

import argparse
import copy
import json
import math
import os
import struct
import sys
from collections import OrderedDict

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

FORMAT = "glmc-golden"
# VERSION changes whenever a fixture's names, layout or procedure change; the
# Go reader (internal/golden) refuses files with another version.
VERSION = "1"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "nn", "testdata", "golden")

# The parity tolerance of issue 3, per tensor: max|ours - torch| <= REL*max|torch| + ABS.
REL, ABS = 1e-4, 1e-5
# A fixture is only useful if float32 PyTorch itself stays well inside that
# tolerance of the float64 computation; otherwise a correct Go port could fail.
CONDITIONING_LIMIT = 0.25

DTYPES = {torch.float32: ("F32", "<f4"), torch.float64: ("F64", "<f8"), torch.int64: ("I64", "<i8")}
NUMPY_OF = {code: np_dtype for code, np_dtype in DTYPES.values()}
TORCH_OF = {code: dtype for dtype, (code, _) in DTYPES.items()}


# ---------------------------------------------------------------- safetensors


def write_safetensors(path, tensors, metadata):
    """Writes tensors (name -> torch tensor) and a string metadata map as safetensors."""
    header = {"__metadata__": metadata}
    blobs, offset = [], 0
    for name, t in tensors.items():
        code, np_dtype = DTYPES[t.dtype]
        raw = t.detach().contiguous().numpy().astype(np_dtype, copy=False).tobytes()
        header[name] = {"dtype": code, "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # the format pads the header to 8 bytes with spaces
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for raw in blobs:
            f.write(raw)


def read_safetensors(path):
    """Returns (tensors, metadata) of a safetensors file with F32, F64 and I64 tensors."""
    with open(path, "rb") as f:
        buf = f.read()
    (n,) = struct.unpack("<Q", buf[:8])
    header = json.loads(buf[8 : 8 + n])
    metadata = header.pop("__metadata__", {})
    data = buf[8 + n :]
    tensors = OrderedDict()
    for name, info in header.items():
        if info["dtype"] not in NUMPY_OF:
            raise SystemExit(f"{path}: tensor {name}: dtype {info['dtype']} is not F32, F64 or I64")
        begin, end = info["data_offsets"]
        arr = np.frombuffer(data[begin:end], dtype=NUMPY_OF[info["dtype"]]).reshape(info["shape"])
        tensors[name] = torch.from_numpy(arr.astype(arr.dtype.newbyteorder("="))).to(TORCH_OF[info["dtype"]])
    return tensors, metadata


def save(name, tensors, **config):
    """Writes nn/testdata/golden/<name>.safetensors with the format header and config."""
    metadata = {"format": FORMAT, "version": VERSION, "fixture": name, "torch": torch.__version__}
    for key, value in config.items():
        metadata[key] = value if isinstance(value, str) else json.dumps(value)
    path = os.path.join(OUT, name + ".safetensors")
    write_safetensors(path, tensors, metadata)
    back, meta = read_safetensors(path)
    assert meta == metadata and list(back) == list(tensors)
    assert all(torch.equal(back[k], tensors[k].detach()) for k in tensors)
    return path


# ---------------------------------------------------------------- models
# Own module definitions whose state-dict names and shapes are exactly those
# of GLMC-2023/model/ResNet_cifar.py (ResNet_modify and ResNet).


class ShortcutA(nn.Module):
    """Option-A shortcut: every second row and column, channels zero-padded by
    pad on each side. Parameter-free, so it adds no state-dict entries."""

    def __init__(self, pad):
        super().__init__()
        self.pad = pad

    def forward(self, x):
        return F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, self.pad, self.pad))


class BlockA(nn.Module):
    """BasicBlock_s of ResNet_modify: conv1/bn1/conv2/bn2 and an option-A
    shortcut when stride or width change."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = ShortcutA(cout // 4) if stride != 1 or cin != cout else nn.Identity()

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(h)) + self.shortcut(x))


class ResidualB(nn.Module):
    """A block of the CIFAR ResNet-18/34/50: residual_function plus an
    option-B (1x1 conv + BN) shortcut when stride or width change."""

    expansion = 1

    def __init__(self, cin, planes, stride, layers):
        super().__init__()
        self.residual_function = nn.Sequential(*layers)
        cout = planes * self.expansion
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        return F.relu(self.residual_function(x) + self.shortcut(x))


class BasicB(ResidualB):
    """BasicBlock: residual_function.{0,3} are 3x3 convs, .{1,4} their BNs."""

    def __init__(self, cin, planes, stride):
        super().__init__(cin, planes, stride, [
            nn.Conv2d(cin, planes, 3, stride, 1, bias=False), nn.BatchNorm2d(planes), nn.ReLU(),
            nn.Conv2d(planes, planes, 3, 1, 1, bias=False), nn.BatchNorm2d(planes),
        ])


class BottleneckB(ResidualB):
    """BottleNeck: 1x1, strided 3x3, 1x1 to 4x planes at residual_function.{0,3,6}."""

    expansion = 4

    def __init__(self, cin, planes, stride):
        super().__init__(cin, planes, stride, [
            nn.Conv2d(cin, planes, 1, bias=False), nn.BatchNorm2d(planes), nn.ReLU(),
            nn.Conv2d(planes, planes, 3, stride, 1, bias=False), nn.BatchNorm2d(planes), nn.ReLU(),
            nn.Conv2d(planes, planes * 4, 1, bias=False), nn.BatchNorm2d(planes * 4),
        ])


class GLMCNet(nn.Module):
    """The GLMC heads on the pooled feature: forward(x, train=True) returns
    (fc, fc_cb, z, p), forward(x) the fc_cb logits, as the official models."""

    def add_heads(self, dim, classes, hidden):
        self.fc = nn.Linear(dim, classes)
        self.fc_cb = nn.Linear(dim, classes)
        self.contrast_head = nn.Sequential(nn.Linear(hidden, hidden))
        self.projection_head = nn.Sequential(nn.Linear(dim, hidden))

    def forward(self, x, train=False):
        return self.heads(self.features(x), train)

    def heads(self, feature, train):
        if not train:
            return self.fc_cb(feature)
        z = self.projection_head(feature)
        return self.fc(feature), self.fc_cb(feature), z, self.contrast_head(z)


class ResNetA(GLMCNet):
    """ResNet_modify (resnet32 = blocks (5,5,5)): stages of widths nf, 2nf, 4nf.
    Conv and Linear weights get kaiming_normal_ (fan_in, gain sqrt 2) as the
    official _weights_init does; Linear biases keep PyTorch's default init."""

    def __init__(self, blocks=(5, 5, 5), classes=10, nf=64, hidden=128):
        super().__init__()
        if nf % 2:
            raise ValueError(f"option-A shortcuts pad 2nf/4 channels per side: width {nf} must be even")
        self.conv1 = nn.Conv2d(3, nf, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(nf)
        cin, self.stages = nf, [f"layer{i + 1}" for i in range(len(blocks))]
        for i, n in enumerate(blocks):
            cout = nf << i
            stage = []
            for j in range(n):
                stage.append(BlockA(cin, cout, 2 if i > 0 and j == 0 else 1))
                cin = cout
            setattr(self, self.stages[i], nn.Sequential(*stage))
        self.add_heads(cin, classes, hidden)
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(m.weight)

    def features(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        for stage in self.stages:
            h = getattr(self, stage)(h)
        return F.avg_pool2d(h, h.size(3)).flatten(1)


class CifarResNet(GLMCNet):
    """ResNet of ResNet_cifar.py (resnet18/34/50): 3x3 stem conv1.{0,1}, stages
    conv2_x..conv5_x of widths nf..8nf (official nf = 64), option-B shortcuts,
    PyTorch's default init (the official class does not re-initialise)."""

    def __init__(self, block, blocks, classes=100, nf=64, hidden=256):
        super().__init__()
        self.conv1 = nn.Sequential(nn.Conv2d(3, nf, 3, 1, 1, bias=False), nn.BatchNorm2d(nf), nn.ReLU())
        cin, self.stages = nf, [f"conv{i + 2}_x" for i in range(len(blocks))]
        for i, n in enumerate(blocks):
            stage = []
            for j in range(n):
                stage.append(block(cin, nf << i, 2 if i > 0 and j == 0 else 1))
                cin = (nf << i) * block.expansion
            setattr(self, self.stages[i], nn.Sequential(*stage))
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.add_heads(cin, classes, hidden)

    def features(self, x):
        h = self.conv1(x)
        for stage in self.stages:
            h = getattr(self, stage)(h)
        return self.avg_pool(h).flatten(1)


BLOCKS = {"BasicBlock": BasicB, "BottleNeck": BottleneckB}
# The official constructors, as (block class name, blocks per stage).
ARCHS = {
    "resnet32": ("BasicBlock_s", (5, 5, 5)),
    "resnet18": ("BasicBlock", (2, 2, 2, 2)),
    "resnet34": ("BasicBlock", (3, 4, 6, 3)),
    "resnet50": ("BottleNeck", (3, 4, 6, 3)),
}


def build(block, blocks, classes, nf, hidden):
    """A model by the official block class name: BasicBlock_s selects
    ResNet_modify, the others ResNet."""
    if block == "BasicBlock_s":
        return ResNetA(tuple(blocks), classes, nf, hidden)
    return CifarResNet(BLOCKS[block], tuple(blocks), classes, nf, hidden)


def infer_model(state):
    """Builds the model a state dict describes from its names and shapes;
    returns a description and the model."""

    def count(prefix):
        return len({k[len(prefix):].split(".")[0] for k in state if k.startswith(prefix)})

    classes = state["fc_cb.weight"].shape[0]
    hidden = state["projection_head.0.weight"].shape[0]
    if "conv1.weight" in state:
        block, nf = "BasicBlock_s", state["conv1.weight"].shape[0]
        blocks = tuple(count(f"layer{i}.") for i in range(1, 4))
    else:
        block = "BottleNeck" if "conv2_x.0.residual_function.6.weight" in state else "BasicBlock"
        nf = state["conv1.0.weight"].shape[0]
        blocks = tuple(count(f"conv{i}_x.") for i in range(2, 6))
    name = next((a for a, spec in ARCHS.items() if spec == (block, blocks)), f"{block} {blocks}")
    return f"{name} nf={nf} hidden={hidden} classes={classes}", build(block, blocks, classes, nf, hidden)


# ---------------------------------------------------------------- helpers


def randn(gen, *shape, scale=1.0, shift=0.0):
    return torch.randn(*shape, generator=gen) * scale + shift


def conditioning(name, t32, t64):
    """Checks the float32 results against the float64 recomputation of the same
    fixture; prints the worst ratio of difference to the parity tolerance."""
    worst, where = 0.0, ""
    for key, a in t32.items():
        b = t64[key]
        if not a.is_floating_point():
            assert torch.equal(a, b), f"{name}: {key}: integer tensors differ"
            continue
        a, b = a.double(), b.double()
        ratio = ((a - b).abs().max() / (REL * b.abs().max() + ABS)).item() if a.numel() else 0.0
        if ratio > worst:
            worst, where = ratio, key
    print(f"  {name}: float32 vs float64: worst {worst:.4f} of the tolerance ({where or '-'})")
    if worst > CONDITIONING_LIMIT:
        raise SystemExit(f"{name}: float32 PyTorch is {worst:.3f} of the tolerance from float64 at {where}: "
                         "fixture too ill-conditioned")


def twice(name, compute):
    """Runs compute(dtype) in float32 and float64, checks conditioning and
    returns the float32 tensors."""
    t32 = compute(torch.float32)
    conditioning(name, t32, compute(torch.float64))
    return t32


def with_grads(fn, inputs, gy, dtype):
    """Forward fn(**inputs) in dtype and backward of loss = (y*gy).sum():
    returns the inputs, y, gy and grad_<input> for every float input."""
    leaves = {k: v.to(dtype, copy=True).requires_grad_() for k, v in inputs.items()}
    y = fn(**leaves)
    (y * gy.to(dtype)).sum().backward()
    out = {k: v.detach() for k, v in leaves.items()}
    out.update(y=y.detach(), gy=gy.to(dtype))
    out.update({f"grad_{k}": v.grad for k, v in leaves.items()})
    return out


def layer_file(name, seed, cases, make):
    """Writes one layer fixture: make(gen, case) returns (fn, inputs, extra),
    extra(dtype) optional further tensors; names are '<case>.<tensor>'."""
    gen = torch.Generator().manual_seed(seed)
    tensors, configs = OrderedDict(), []
    for i, case in enumerate(cases):
        prefix = f"c{i}"
        fn, inputs, extra = make(gen, case)
        gy = randn(gen, *fn(**inputs).shape)

        def compute(dtype):
            out = with_grads(fn, inputs, gy, dtype)
            if extra:
                out.update(extra(dtype))
            return out

        for key, value in twice(f"{name}.{prefix}", compute).items():
            tensors[f"{prefix}.{key}"] = value
        configs.append(dict(name=prefix, **case))
    return save(name, tensors, cases=configs, loss="sum(y*gy)")


# ---------------------------------------------------------------- layers

CONV_CASES = [
    dict(n=2, cin=3, cout=5, h=8, w=8, k=3, stride=1, padding=1, bias=False),
    dict(n=2, cin=4, cout=6, h=9, w=9, k=3, stride=2, padding=1, bias=False),
    dict(n=2, cin=5, cout=7, h=8, w=6, k=1, stride=2, padding=0, bias=False),
    dict(n=2, cin=3, cout=4, h=7, w=5, k=5, stride=1, padding=2, bias=True),
    dict(n=1, cin=7, cout=3, h=7, w=5, k=3, stride=2, padding=1, bias=True),
    dict(n=3, cin=2, cout=5, h=6, w=7, k=3, stride=1, padding=0, bias=True),
]


def make_conv(gen, c):
    inputs = dict(x=randn(gen, c["n"], c["cin"], c["h"], c["w"]),
                  weight=randn(gen, c["cout"], c["cin"], c["k"], c["k"], scale=0.3))
    if c["bias"]:
        inputs["bias"] = randn(gen, c["cout"])

    def fn(x, weight, bias=None):
        return F.conv2d(x, weight, bias, c["stride"], c["padding"])

    return fn, inputs, None


BN_CASES = [dict(n=4, c=5, h=3, w=3), dict(n=2, c=3, h=5, w=4)]


def make_bn(gen, c):
    """Training-mode BN with grads, then a fresh BatchNorm2d(momentum 0.1, eps
    1e-5) after training forwards on x, x1, x2 and an eval forward on x."""
    shape = (c["n"], c["c"], c["h"], c["w"])
    shift = randn(gen, 1, c["c"], 1, 1, scale=2.0)
    inputs = dict(x=randn(gen, *shape, scale=1.5) + shift,
                  weight=randn(gen, c["c"], scale=0.3, shift=1.0), bias=randn(gen, c["c"], scale=0.5))
    batches = [randn(gen, *shape, scale=1.5) + shift for _ in range(2)]

    def fn(x, weight, bias):
        return F.batch_norm(x, None, None, weight, bias, training=True, momentum=0.1, eps=1e-5)

    def extra(dtype):
        bn = nn.BatchNorm2d(c["c"]).to(dtype)
        with torch.no_grad():
            bn.weight.copy_(inputs["weight"])
            bn.bias.copy_(inputs["bias"])
            for x in [inputs["x"]] + batches:
                bn(x.to(dtype))
            out = dict(x1=batches[0].to(dtype), x2=batches[1].to(dtype), running_mean=bn.running_mean.clone(),
                       running_var=bn.running_var.clone(), num_batches_tracked=bn.num_batches_tracked.clone())
            out["y_eval"] = bn.eval()(inputs["x"].to(dtype))
        return out

    return fn, inputs, extra


def make_linear(gen, c):
    inputs = dict(x=randn(gen, c["n"], c["fin"]), weight=randn(gen, c["fout"], c["fin"], scale=0.4),
                  bias=randn(gen, c["fout"]))
    return (lambda x, weight, bias: F.linear(x, weight, bias)), inputs, None


def make_relu(gen, c):
    x = randn(gen, c["n"], c["c"], c["h"], c["w"])
    x.view(-1)[::7] = 0.0  # PyTorch's ReLU gradient at exactly 0 is 0
    return (lambda x: F.relu(x)), dict(x=x), None


def make_pool(gen, c):
    x = randn(gen, c["n"], c["c"], c["h"], c["w"])
    if c["op"] == "avg_pool2d":  # ResNet_modify: F.avg_pool2d(out, out.size()[3]) on a square map
        return (lambda x: F.avg_pool2d(x, x.size(3)).flatten(1)), dict(x=x), None
    return (lambda x: F.adaptive_avg_pool2d(x, 1).flatten(1)), dict(x=x), None


def make_shortcut(gen, c):
    return ShortcutA(c["planes"] // 4), dict(x=randn(gen, c["n"], c["c"], c["h"], c["w"])), None


def layer_fixtures():
    layer_file("conv2d", 11, CONV_CASES, make_conv)
    layer_file("batchnorm2d", 12, BN_CASES, make_bn)
    layer_file("linear", 13, [dict(n=5, fin=7, fout=4), dict(n=3, fin=16, fout=10)], make_linear)
    layer_file("relu", 14, [dict(n=2, c=3, h=5, w=4)], make_relu)
    layer_file("avgpool", 15, [dict(n=3, c=4, h=5, w=5, op="avg_pool2d"),
                               dict(n=2, c=3, h=3, w=4, op="adaptive_avg_pool2d")], make_pool)
    layer_file("shortcut_a", 16, [dict(n=2, c=4, h=8, w=8, planes=8),
                                  dict(n=2, c=6, h=7, w=5, planes=12)], make_shortcut)


# ---------------------------------------------------------------- models

ALPHA, GAMMA = 0.75, 2.0
LOSS_TEXT = ("alpha*softCE(fc,target) + (1-alpha)*softCE(fc_cb,target_w) - gamma*mean(cos(p, stopgrad(z))), "
             "softCE(l,t) = -mean_n sum_c t*log_softmax(l)")
# Widths nf are reduced from the official 64 to keep the files small;
# resnet32_w4 keeps the official head width 128, the ResNet nets use 16 instead
# of 256 (the 256x256 contrast head alone would be 260 KB). The bottleneck
# net has 2,1,1,1 blocks instead of resnet50's 3,4,6,3: with 2-channel
# bottlenecks the full depth is too ill-conditioned for float32 parity.
# The small nets also take 16x16 inputs (all the nets pool globally).
MODELS = [
    dict(name="resnet32_w4", block="BasicBlock_s", blocks=[5, 5, 5], nf=4, hidden=128, classes=10, size=32, seed=21),
    dict(name="resnet18_small", block="BasicBlock", blocks=[2, 2, 2, 2], nf=2, hidden=16, classes=10, size=16, seed=22),
    dict(name="bottleneck_small", block="BottleNeck", blocks=[2, 1, 1, 1], nf=2, hidden=16, classes=10, size=16,
         seed=23),
]
BATCH = 4
# The BN running statistics come from three training forwards on these
# different slices [begin, end) of the batch x.
STATS_SLICES = [[0, 2], [1, 3], [2, 4]]
HEADS = ("fc", "fc_cb", "z", "p")


def glmc_loss(outputs, target, target_w):
    """The three kinds of GLMC loss term (soft-label CE on fc and on fc_cb,
    SimSiam negative cosine) on one forward; outputs maps HEADS to tensors."""
    fc, fc_cb, z, p = (outputs[k] for k in HEADS)

    def soft_ce(logits, t):
        return -(F.log_softmax(logits, dim=1) * t).sum(1).mean()

    return (ALPHA * soft_ce(fc, target) + (1 - ALPHA) * soft_ce(fc_cb, target_w)
            - GAMMA * F.cosine_similarity(p, z.detach(), dim=-1).mean())


def model_inputs(gen, classes, n, size):
    """A fixed batch, soft targets (rows sum to 1) and re-weighted soft targets."""
    x = randn(gen, n, 3, size, size)
    target = F.softmax(randn(gen, n, classes, scale=2.0), dim=1)
    target_w = F.softmax(randn(gen, n, classes, scale=2.0), dim=1) * (torch.rand(classes, generator=gen) + 0.5)
    return x, target, target_w


def model_fixture(cfg, make=None):
    """Writes <name>.safetensors for one model of MODELS (or the model that
    make(cfg) builds); returns the model (initial state) and its batch and
    targets."""
    torch.manual_seed(cfg["seed"])
    if make is None:
        model = build(cfg["block"], cfg["blocks"], cfg["classes"], cfg["nf"], cfg["hidden"])
    else:
        model = make(cfg)
    gen = torch.Generator().manual_seed(cfg["seed"] + 100)
    x, target, target_w = model_inputs(gen, cfg["classes"], BATCH, cfg["size"])

    def run(dtype):
        out = OrderedDict()
        m = copy.deepcopy(model).to(dtype).train()
        feature = m.features(x.to(dtype))
        outputs = dict(zip(HEADS, m.heads(feature, True)))
        outputs["feature"] = feature
        for o in outputs.values():
            o.retain_grad()
        loss = glmc_loss(outputs, target.to(dtype), target_w.to(dtype))
        loss.backward()
        out.update((f"out.{k}", o.detach()) for k, o in outputs.items())
        out["loss"] = loss.detach()
        out.update((f"grad_out.{k}", o.grad) for k, o in outputs.items())
        out.update((f"grad.{k}", p.grad) for k, p in m.named_parameters())
        m = copy.deepcopy(model).to(dtype).train()
        with torch.no_grad():
            for begin, end in STATS_SLICES:
                m(x[begin:end].to(dtype))
            out.update((f"stats.{k}", b.clone()) for k, b in m.named_buffers())
            out["eval.fc_cb"] = m.eval()(x.to(dtype))
        return out

    tensors = OrderedDict((f"init.{k}", v.clone()) for k, v in model.state_dict().items())
    tensors.update(x=x, target=target, target_w=target_w)
    tensors.update(twice(cfg["name"], run))
    config = {k: v for k, v in cfg.items() if k != "name"}
    save(cfg["name"], tensors, alpha=ALPHA, gamma=GAMMA, loss=LOSS_TEXT, stats_slices=STATS_SLICES, **config,
         procedure="init.* -> train-mode forward of x (4 heads), loss, backward -> out.*, loss, grad_out.*, grad.*; "
                   "init.* again -> train-mode forwards of x[b:e] for [b,e] in stats_slices -> stats.* -> "
                   "eval forward of x -> eval.fc_cb")
    return model, x, target, target_w


# ---------------------------------------------------------------- optimiser

SGD_CONFIG = dict(lr=0.01, momentum=0.9, dampening=0.0, weight_decay=5e-3, t_max=5, steps=5)
SGD_RUNS = (("sgd", False), ("nesterov", True))


def sgd_run(model, dtype, x, target, target_w, nesterov, steps):
    """Trains a copy of model for steps SGD steps (SGD_CONFIG) on one batch,
    CosineAnnealingLR stepped after every step; returns the model, the
    optimizer and the lr and loss of every step."""
    m = copy.deepcopy(model).to(dtype).train()
    opt = torch.optim.SGD(m.parameters(), lr=SGD_CONFIG["lr"], momentum=SGD_CONFIG["momentum"],
                          dampening=SGD_CONFIG["dampening"], weight_decay=SGD_CONFIG["weight_decay"], nesterov=nesterov)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=SGD_CONFIG["t_max"])
    lrs, losses = [], []
    for _ in range(steps):
        lrs.append(opt.param_groups[0]["lr"])
        opt.zero_grad()
        loss = glmc_loss(dict(zip(HEADS, m(x.to(dtype), train=True))), target.to(dtype), target_w.to(dtype))
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.detach())
    return m, opt, lrs, losses


def sgd_fixture(model, x, target, target_w):
    """5 steps of torch.optim.SGD from the resnet32_w4 init on its x and
    targets, without and with nesterov. Returns the float32 plain-SGD model."""

    def compute(dtype):
        out = OrderedDict()
        for run, nesterov in SGD_RUNS:
            m, _, lrs, losses = sgd_run(model, dtype, x, target, target_w, nesterov, SGD_CONFIG["steps"])
            out["lr"] = torch.tensor(lrs, dtype=torch.float64)
            out[f"{run}.loss"] = torch.stack(losses)
            out.update((f"{run}.final.{k}", v.clone()) for k, v in m.state_dict().items())
        return out

    save("sgd", twice("sgd", compute), init="resnet32_w4.safetensors",
         runs=[dict(name=r, nesterov=n) for r, n in SGD_RUNS],
         scheduler="CosineAnnealingLR(T_max=5), scheduler.step() after every optimizer step", **SGD_CONFIG,
         procedure="load init.* of resnet32_w4; each step: lr recorded, zero_grad, train-mode forward of its x, "
                   "loss as in resnet32_w4 (same target, target_w, alpha, gamma), backward, SGD step, scheduler step")
    return sgd_run(model, torch.float32, x, target, target_w, False, SGD_CONFIG["steps"])[0]


def paco_adjust_learning_rate(opt, epoch, base_lr, epochs, warmup):
    """GLMC-2023/Trainer.py paco_adjust_learning_rate: sets the optimiser's
    rate from the epoch that has just ended."""
    if epoch <= warmup:
        lr = base_lr / warmup * (epoch + 1)
    else:
        lr = base_lr * 0.5 * (1.0 + math.cos(math.pi * (epoch - warmup + 1) / (epochs - warmup + 1)))
    for group in opt.param_groups:
        group["lr"] = lr


def official_rates(epochs, base_lr, after_epoch):
    """The rate each epoch trains at in GLMC-2023/Trainer.py's train loop:
    read at the epoch's start, then after_epoch(opt, sched, epoch) runs
    where the Trainer adjusts the rate, after training and validation."""
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=base_lr, momentum=0.9, weight_decay=5e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)  # built for every dataset
    rates = []
    for epoch in range(epochs):
        rates.append(opt.param_groups[0]["lr"])
        opt.step()
        after_epoch(opt, sched, epoch)
    return torch.tensor(rates, dtype=torch.float64)


def schedule_fixture():
    """The per-epoch rates of the official train loop: CIFAR (200 epochs at
    lr 0.01, train_scheduler.step() after each epoch) and ImageNet-LT (135
    epochs at lr 0.1, paco_adjust_learning_rate(epoch) after each epoch)."""
    warmup = 10
    cifar = dict(epochs=200, lr=0.01)
    imagenet = dict(epochs=135, lr=0.1)
    tensors = {
        "cifar.lr": official_rates(cifar["epochs"], cifar["lr"], lambda opt, sched, epoch: sched.step()),
        "imagenet_lt.lr": official_rates(
            imagenet["epochs"], imagenet["lr"],
            lambda opt, sched, epoch: paco_adjust_learning_rate(opt, epoch, imagenet["lr"], imagenet["epochs"], warmup)),
    }
    save("schedules", tensors, cifar=cifar, imagenet_lt=imagenet, warmup=warmup,
         cifar_rule="Trainer.train: CosineAnnealingLR(T_max=epochs).step() after each epoch; entry e = lr epoch e trains at",
         imagenet_lt_rule="Trainer.train: paco_adjust_learning_rate(epoch) after each epoch's validation; "
                          "entry e = lr epoch e trains at")


class MaxNormPGD:
    """The semantics of the official MaxNorm_via_PGD(thresh, LpNorm=2, tau=1)
    on [fc_cb.weight, fc_cb.bias]: the first call fixes each tensor's limit,
    min + thresh*(max - min) of its row L2 norms (+inf for 1-D tensors, so
    biases never change); every call scales the rows whose norm exceeds the
    limit by limit/norm."""

    def __init__(self, thresh):
        self.thresh = thresh
        self.limits = None

    def __call__(self, tensors):
        if self.limits is None:
            self.limits = [self.row_norms(t).min() + self.thresh * (self.row_norms(t).max() - self.row_norms(t).min())
                           if t.dim() > 1 else float("inf") for t in tensors]
        for t, limit in zip(tensors, self.limits):
            norms = self.row_norms(t)
            over = norms > limit
            t[over] = t[over] * (limit / norms[over]).reshape(-1, *[1] * (t.dim() - 1))

    @staticmethod
    def row_norms(t):
        return torch.linalg.norm(t.reshape(t.shape[0], -1), ord=2, dim=1)


def maxnorm_fixture():
    gen = torch.Generator().manual_seed(31)
    rows, cols, thresh = 10, 16, 0.1
    scale = torch.linspace(0.2, 3.0, rows)[torch.randperm(rows, generator=gen)]
    weight, bias = randn(gen, rows, cols, scale=0.1) * scale[:, None], randn(gen, rows)
    pgd = MaxNormPGD(thresh)
    tensors = OrderedDict()
    for call in (1, 2):
        if call == 2:  # what an SGD step between the two projections might do
            weight += randn(gen, rows, cols, scale=0.05)
            bias += randn(gen, rows, scale=0.5)
        tensors.update({f"call{call}.weight_in": weight.clone(), f"call{call}.bias_in": bias.clone()})
        pgd([weight, bias])
        tensors.update({f"call{call}.weight_out": weight.clone(), f"call{call}.bias_out": bias.clone()})
    tensors["threshold"] = pgd.limits[0].clone()
    save("maxnorm", tensors, thresh=thresh, lp_norm=2, tau=1,
         procedure="MaxNorm_via_PGD(thresh).PGD on [fc_cb.weight, fc_cb.bias] = [weight, bias] twice; "
                   "threshold = weight's limit set by the first call")


# ---------------------------------------------------------------- checkpoints

def checkpoint_fixtures(resnet32, resnet18):
    """Official-layout torch.save checkpoints and the eval fc_cb logits each
    must give on a fixed batch: resnet32_w4 after the plain SGD run, saved as
    the official code does (DataParallel's module. prefix); resnet18_small after
    2 SGD steps, without prefix and with the optimizer state beside it."""
    m18, opt18, _, _ = sgd_run(resnet18[0], torch.float32, *resnet18[1:], nesterov=False, steps=2)
    checkpoints = [
        dict(file="resnet32_w4.pth.tar", model=MODELS[0], prefix="module.", optimizer=None, state=resnet32),
        dict(file="resnet18_small_plain.pth.tar", model=MODELS[1], prefix="", optimizer=opt18, state=m18),
    ]
    gen = torch.Generator().manual_seed(41)
    tensors = OrderedDict()
    for ckpt in checkpoints:
        model = ckpt.pop("state")
        saved = {"epoch": 3, "state_dict": OrderedDict((ckpt["prefix"] + k, v) for k, v in model.state_dict().items()),
                 "best_acc1": 12.5}
        if ckpt["optimizer"]:
            saved["optimizer"] = ckpt["optimizer"].state_dict()
        torch.save(saved, os.path.join(OUT, ckpt["file"]))
        name = ckpt["model"]["name"]
        x = randn(gen, 2, 3, ckpt["model"]["size"], ckpt["model"]["size"])

        def compute(dtype):
            with torch.no_grad():
                return OrderedDict(x=x.to(dtype), logits=copy.deepcopy(model).to(dtype).eval()(x.to(dtype)))

        tensors.update((f"{name}.{k}", v) for k, v in twice(ckpt["file"], compute).items())
        ckpt.update(optimizer=ckpt["optimizer"] is not None, tensors=f"{name}.x, {name}.logits")
    save("checkpoints", tensors, checkpoints=checkpoints, epoch=3, best_acc1=12.5,
         procedure="load the .pth.tar (state_dict entry, prefix stripped) -> eval-mode fc_cb logits of <model>.x")


# ---------------------------------------------------------------- --check


def check(state_path, logits_path, infer=infer_model):
    """Loads a Go-written state dict into the PyTorch model its names and
    shapes describe (infer(state) gives a description and the model) and
    compares the eval logits on the companion's x."""
    state, _ = read_safetensors(state_path)
    arch, model = infer(state)
    for k, v in model.state_dict().items():
        if k in state and state[k].dtype != v.dtype:
            raise SystemExit(f"{state_path}: {k}: dtype {state[k].dtype}, want {v.dtype}")
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as err:
        raise SystemExit(f"{state_path}: does not load into {arch}: {err}")
    companion, _ = read_safetensors(logits_path)
    with torch.no_grad():
        torch_logits = model.eval()(companion["x"])
    ours = companion["logits"]
    if ours.shape != torch_logits.shape:
        raise SystemExit(f"{logits_path}: logits shape {list(ours.shape)}, PyTorch gives {list(torch_logits.shape)}")
    diff = (ours.double() - torch_logits.double()).abs().max().item()
    tol = REL * torch_logits.abs().max().item() + ABS
    ok = diff <= tol
    print(f"{state_path}: {arch}: max|ours - torch| = {diff:.3g}, tolerance {tol:.3g}: {'ok' if ok else 'MISMATCH'}")
    return 0 if ok else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", metavar="STATE", help="safetensors state dict written by the Go code")
    ap.add_argument("--logits", metavar="FILE",
                    help="companion safetensors with x (N,3,H,W) and logits (N,classes) "
                         "(default: STATE with .safetensors replaced by .logits.safetensors)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    if args.check:
        base = args.check[: -len(".safetensors")] if args.check.endswith(".safetensors") else args.check
        return check(args.check, args.logits or base + ".logits.safetensors")
    if args.logits:
        ap.error("--logits needs --check")
    os.makedirs(OUT, exist_ok=True)
    layer_fixtures()
    models = [model_fixture(cfg) for cfg in MODELS]
    checkpoint_fixtures(sgd_fixture(*models[0]), models[1])
    schedule_fixture()
    maxnorm_fixture()
    print_sizes(sorted(os.listdir(OUT)))
    return 0


def print_sizes(names):
    """Prints the size of each file of OUT and the total."""
    total = 0
    for name in names:
        size = os.path.getsize(os.path.join(OUT, name))
        total += size
        print(f"{size:9d}  {os.path.relpath(os.path.join(OUT, name), ROOT)}")
    print(f"{total:9d}  total")


if __name__ == "__main__":
    sys.exit(main())
