#!/usr/bin/python3
"""PyTorch golden fixtures for grouped convolution, max pooling and the
ImageNet-LT / iNaturalist models of GLMC-2023/model/Resnet_LT.py.

Run by hand with Debian's PyTorch; CI only reads the committed files:

    /usr/bin/python3 tools/golden/gen_ltmodels.py [--official PATH/TO/Resnet_LT.py]
    /usr/bin/python3 tools/golden/gen_ltmodels.py --check STATE.safetensors

It writes into nn/testdata/golden/ with gen_nn.py's format, float64 check and
model procedure (it imports gen_nn). With --official, the official module is
imported from that file and the script stops unless the official
resnext50_32x4d and resnet50 have exactly the state-dict names and shapes of
its own ResNetLT at full size and give the same outputs with the same
weights; without it that cross-check is skipped (the metadata
official_checked says which). --check is gen_nn.py's --check that knows the
Resnet_LT.py models too. tools/golden/README.md lists the fixtures.
"""

import argparse
import copy
import importlib.util
import os
import sys
from collections import OrderedDict

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_nn as g  # noqa: E402

# ---------------------------------------------------------------- models
# Own module definitions whose state-dict names, shapes and order are those
# of Resnet_LT.py's ResNet with Bottleneck blocks, with the widths as
# parameters: stage i has nf*2^i planes (official nf = 64), the grouped 3x3
# has int(planes*width_per_group/64)*groups channels, the heads hidden
# (official 256).


class BottleneckLT(nn.Module):
    """torchvision v1.5 bottleneck: stride on the grouped 3x3 conv2."""

    def __init__(self, cin, planes, stride, groups, width_per_group):
        super().__init__()
        width = int(planes * (width_per_group / 64.0)) * groups
        self.conv1 = nn.Conv2d(cin, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride, 1, groups=groups, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.downsample = None
        if stride != 1 or cin != planes * 4:
            self.downsample = nn.Sequential(nn.Conv2d(cin, planes * 4, 1, stride, bias=False), nn.BatchNorm2d(planes * 4))

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        h = F.relu(self.bn2(self.conv2(h)))
        h = self.bn3(self.conv3(h))
        return F.relu(h + (x if self.downsample is None else self.downsample(x)))


class ResNetLT(g.GLMCNet):
    """Resnet_LT.py's ResNet(Bottleneck, blocks, groups, width_per_group):
    conv1 7x7/2, bn1, ReLU, maxpool 3x3/2/1, layer1..4, adaptive average
    pool, the GLMC heads; Conv2d weights kaiming_normal_(fan_out, relu), BN
    weight 1 and bias 0, Linear layers PyTorch's default."""

    def __init__(self, blocks, classes, nf=64, hidden=256, groups=1, width_per_group=64):
        super().__init__()
        self.conv1 = nn.Conv2d(3, nf, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(nf)
        cin = nf
        for i, n in enumerate(blocks):
            stage = []
            for j in range(n):
                stage.append(BottleneckLT(cin, nf << i, 2 if i > 0 and j == 0 else 1, groups, width_per_group))
                cin = (nf << i) * 4
            setattr(self, f"layer{i + 1}", nn.Sequential(*stage))
        self.stages = len(blocks)
        self.add_heads(cin, classes, hidden)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)

    def features(self, x):
        h = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, 2, 1)
        for i in range(self.stages):
            h = getattr(self, f"layer{i + 1}")(h)
        return F.adaptive_avg_pool2d(h, 1).flatten(1)


def make_lt(cfg):
    return ResNetLT(tuple(cfg["blocks"]), cfg["classes"], cfg["nf"], cfg["hidden"], cfg["groups"],
                    cfg["width_per_group"])


# ---------------------------------------------------------------- formula weights
# The full-size fixture stores no weights: both sides compute them from the
# entry's index t in the state dict and the element index i, with 64-bit
# integer arithmetic that numpy and Go do alike, so the values are the same
# float32 bits (nn's TestGoldenResNeXt50Formula has the Go side).

FORMULA = ("v(t,i) = 2*((h >> 11) * 2^-53) - 1 for h = mix(i+1, t+1) (splitmix64 finaliser of "
           "(i+1)*0x9E3779B97F4A7C15 + (t+1)*0xBF58476D1CE4E5B9 mod 2^64, t = state-dict index, i = element); "
           "conv weight v*sqrt(3/fan_in), linear weight v/sqrt(in), linear bias 0.1v, BN weight 1+0.2v, BN bias 0.1v, "
           "running_mean 0.1v, running_var 0.75+0.25v, x: t = 100000; each rounded to float32")
M64 = (1 << 64) - 1
X_INDEX = 100000


def formula(t, n):
    """v(t, i) for i in [0, n) as float64."""
    i = np.arange(1, n + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        h = i * np.uint64(0x9E3779B97F4A7C15) + np.uint64(((t + 1) * 0xBF58476D1CE4E5B9) & M64)
        h ^= h >> np.uint64(31)
        h *= np.uint64(0x94D049BB133111EB)
        h ^= h >> np.uint64(29)
    return 2 * ((h >> np.uint64(11)).astype(np.float64) * 2.0 ** -53) - 1


def formula_state(model):
    """The formula values of every entry of model's state dict."""
    state = model.state_dict()
    out = OrderedDict()
    for t, (name, v) in enumerate(state.items()):
        module, field = name.rsplit(".", 1)
        if field == "num_batches_tracked":
            out[name] = v.clone()
            continue
        f = formula(t, v.numel())
        bn = module + ".running_mean" in state
        if field == "running_var":
            f = 0.75 + 0.25 * f
        elif field == "running_mean" or (field == "bias" and bn):
            f = 0.1 * f
        elif field == "weight" and bn:
            f = 1 + 0.2 * f
        elif field == "weight" and v.dim() == 4:
            f = f * np.sqrt(3.0 / (v.numel() // v.shape[0]))
        elif field == "weight":
            f = f / np.sqrt(float(v.shape[1]))
        else:  # a Linear bias
            f = 0.1 * f
        out[name] = torch.from_numpy(f.astype(np.float32).reshape(v.shape))
    return out


def formula_input(shape):
    return torch.from_numpy(formula(X_INDEX, int(np.prod(shape))).astype(np.float32).reshape(shape))


# ---------------------------------------------------------------- layers

GROUPED_CASES = [
    dict(n=2, cin=8, cout=8, h=7, w=7, k=3, stride=1, padding=1, groups=4, bias=False),
    dict(n=2, cin=8, cout=16, h=9, w=8, k=3, stride=2, padding=1, groups=4, bias=True),
    dict(n=3, cin=6, cout=6, h=5, w=6, k=3, stride=1, padding=1, groups=6, bias=True),  # depthwise
    dict(n=2, cin=12, cout=6, h=6, w=6, k=1, stride=1, padding=0, groups=3, bias=False),
    dict(n=1, cin=4, cout=8, h=8, w=7, k=5, stride=2, padding=2, groups=2, bias=False),
]


def make_grouped(gen, c):
    inputs = dict(x=g.randn(gen, c["n"], c["cin"], c["h"], c["w"]),
                  weight=g.randn(gen, c["cout"], c["cin"] // c["groups"], c["k"], c["k"], scale=0.3))
    if c["bias"]:
        inputs["bias"] = g.randn(gen, c["cout"])

    def fn(x, weight, bias=None):
        return F.conv2d(x, weight, bias, c["stride"], c["padding"], 1, c["groups"])

    return fn, inputs, None


MAXPOOL_CASES = [
    dict(n=2, c=3, h=8, w=8, k=3, stride=2, padding=1),  # the stem's max-pool
    dict(n=2, c=2, h=7, w=9, k=3, stride=2, padding=1),
    dict(n=1, c=2, h=6, w=5, k=2, stride=2, padding=0),
    dict(n=1, c=3, h=5, w=5, k=3, stride=1, padding=1),
]


def make_maxpool(gen, c):
    def fn(x):
        return F.max_pool2d(x, c["k"], c["stride"], c["padding"])

    return fn, dict(x=g.randn(gen, c["n"], c["c"], c["h"], c["w"])), None


# ---------------------------------------------------------------- models

# Reduced widths keep the files small: nf 4 with 4 groups and width per
# group 16 gives grouped convolutions of 4, 8, 16 and 32 channels, i.e. 1, 2,
# 4 and 8 per group (official resnext50_32x4d: nf 64, 128..1024 channels,
# 32 groups of 4..32). resnext_small has two blocks in its first stage (an
# identity bottleneck) and one in the others, and goes through gen_nn's
# training-mode procedure; its 64x64 input leaves 2x2 maps in layer4, as
# smaller maps make the batch statistics of 4 images too ill-conditioned
# for float32. resnext50_narrow has the full depth 3,4,6,3; there the
# training-mode gradients cancel beyond float32's reach whatever the size,
# so it is checked in eval mode (batch norm with running statistics, a
# linear map), forward and backward.
MODELS = [
    dict(name="resnext_small", arch="resnext50_32x4d", block="Bottleneck", blocks=[2, 1, 1, 1], nf=4, groups=4,
         width_per_group=16, hidden=16, classes=10, size=64, seed=51),
]
NARROW = dict(name="resnext50_narrow", arch="resnext50_32x4d", block="Bottleneck", blocks=[3, 4, 6, 3], nf=4,
              groups=4, width_per_group=16, hidden=16, classes=10, size=32, seed=52)


def eval_backward_fixture(cfg):
    """Writes <name>.safetensors: eval-mode forward of the four heads, the
    gen_nn loss and every parameter gradient, from an init whose batch norms
    have random affine parameters and running statistics."""
    torch.manual_seed(cfg["seed"])
    model = make_lt(cfg)
    gen = torch.Generator().manual_seed(cfg["seed"] + 100)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.copy_(g.randn(gen, *m.weight.shape, scale=0.2, shift=1.0))
                m.bias.copy_(g.randn(gen, *m.bias.shape, scale=0.1))
                m.running_mean.copy_(g.randn(gen, *m.running_mean.shape, scale=0.1))
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=gen) + 0.5)
    x, target, target_w = g.model_inputs(gen, cfg["classes"], g.BATCH, cfg["size"])

    def run(dtype):
        m = copy.deepcopy(model).to(dtype).eval()
        feature = m.features(x.to(dtype))
        outputs = dict(zip(g.HEADS, m.heads(feature, True)))
        outputs["feature"] = feature
        loss = g.glmc_loss(outputs, target.to(dtype), target_w.to(dtype))
        loss.backward()
        out = OrderedDict((f"out.{k}", o.detach()) for k, o in outputs.items())
        out["loss"] = loss.detach()
        out.update((f"grad.{k}", p.grad) for k, p in m.named_parameters())
        return out

    tensors = OrderedDict((f"init.{k}", v.clone()) for k, v in model.state_dict().items())
    tensors.update(x=x, target=target, target_w=target_w)
    tensors.update(g.twice(cfg["name"], run))
    config = {k: v for k, v in cfg.items() if k != "name"}
    g.save(cfg["name"], tensors, alpha=g.ALPHA, gamma=g.GAMMA, loss=g.LOSS_TEXT, mode="eval", **config,
           procedure="init.* -> eval-mode forward of x (4 heads), loss, backward -> out.*, loss, grad.*")

# The official-layout checkpoints: a tiny ResNeXt after two SGD steps, saved
# as a DataParallel run of the official Trainer on GPUs writes it (module.
# prefix, storages tagged cuda:0, best_acc1 a tensor, plus architecture and
# optimizer entries), and a tiny resnet50_lt with a plain state dict.
CHECKPOINTS = [
    dict(file="resnext_tiny.pth.tar", arch="resnext50_32x4d", blocks=[1, 1, 1, 1], nf=4, groups=4,
         width_per_group=16, hidden=16, classes=10, size=32, seed=61, prefix="module.", cuda=True),
    dict(file="resnet50_lt_tiny.pth.tar", arch="resnet50_lt", blocks=[1, 1, 1, 1], nf=4, groups=1,
         width_per_group=64, hidden=16, classes=10, size=32, seed=62, prefix="", cuda=False),
]

# Storages of torch.save are tagged cuda:0 while FAKE_CUDA[0] is set, as a
# GPU run's are; loading maps them back to the CPU.
FAKE_CUDA = [False]
torch.serialization.register_package(
    0, lambda storage: "cuda:0" if FAKE_CUDA[0] else None,
    lambda storage, location: storage if location.startswith("cuda") else None)


def checkpoint_fixtures():
    tensors = OrderedDict()
    gen = torch.Generator().manual_seed(63)
    for ckpt in CHECKPOINTS:
        torch.manual_seed(ckpt["seed"])
        model = make_lt(ckpt)
        x, target, target_w = g.model_inputs(gen, ckpt["classes"], 4, ckpt["size"])
        m, opt, _, _ = g.sgd_run(model, torch.float32, x, target, target_w, nesterov=False, steps=2)
        saved = {"epoch": 3, "state_dict": OrderedDict((ckpt["prefix"] + k, v) for k, v in m.state_dict().items()),
                 "best_acc1": torch.tensor(12.5)}
        if ckpt["cuda"]:
            saved.update(architecture=ckpt["arch"], optimizer=opt.state_dict())
        path = os.path.join(g.OUT, ckpt["file"])
        FAKE_CUDA[0] = ckpt["cuda"]
        try:
            torch.save(saved, path)
        finally:
            FAKE_CUDA[0] = False
        back = torch.load(path, map_location="cpu")
        assert all(torch.equal(back["state_dict"][k], v) for k, v in saved["state_dict"].items())
        name = ckpt["file"].split(".")[0]
        xe = g.randn(gen, 2, 3, ckpt["size"], ckpt["size"])

        def compute(dtype):
            with torch.no_grad():
                return OrderedDict(x=xe.to(dtype), logits=copy.deepcopy(m).to(dtype).eval()(xe.to(dtype)))

        tensors.update((f"{name}.{k}", v) for k, v in g.twice(ckpt["file"], compute).items())
    g.save("checkpoints_lt", tensors, checkpoints=CHECKPOINTS, epoch=3, best_acc1=12.5,
           procedure="2 SGD steps (gen_nn.sgd_run) from the seed's init on a random batch -> torch.save of "
                     "{epoch, state_dict (prefix + name), best_acc1 (tensor)[, architecture, optimizer]}, storages "
                     "tagged cuda:0 when cuda -> eval-mode fc_cb logits of <stem>.x")


# ---------------------------------------------------------------- full size

FULL = dict(arch="resnext50_32x4d", blocks=[3, 4, 6, 3], nf=64, groups=32, width_per_group=4, hidden=256,
            classes=1000, size=224, batch=1)


def load_official(path):
    spec = importlib.util.spec_from_file_location("Resnet_LT", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def cross_check(official):
    """Stops unless the official resnext50_32x4d and resnet50 equal ResNetLT
    in state-dict names, order and shapes, and in outputs on the same
    formula weights (eval logits, and the four training-mode heads)."""
    x = formula_input((1, 3, 96, 96))
    for name, ours in (("resnext50_32x4d", ResNetLT((3, 4, 6, 3), 1000, groups=32, width_per_group=4)),
                       ("resnet50", ResNetLT((3, 4, 6, 3), 1000))):
        theirs = getattr(official, name)(num_classes=1000)
        a, b = ours.state_dict(), theirs.state_dict()
        if [(k, tuple(v.shape)) for k, v in a.items()] != [(k, tuple(v.shape)) for k, v in b.items()]:
            raise SystemExit(f"{name}: state-dict names or shapes differ from the official model")
        state = formula_state(ours)
        ours.load_state_dict(state)
        theirs.load_state_dict(state)
        with torch.no_grad():
            if not torch.equal(ours.eval()(x), theirs.eval()(x, train=False)):
                raise SystemExit(f"{name}: eval logits differ from the official model's")
            for u, v in zip(ours.train()(x, train=True), theirs.train()(x, train=True)):
                if not torch.equal(u, v):
                    raise SystemExit(f"{name}: training-mode heads differ from the official model's")
        print(f"  {name}: same names, shapes and outputs as the official model")


def full_fixture(official_checked):
    """Eval-mode fc_cb logits and pooled feature of the full-size
    resnext50_32x4d on formula weights and a formula 224x224 image."""
    model = ResNetLT(tuple(FULL["blocks"]), FULL["classes"], FULL["nf"], FULL["hidden"], FULL["groups"],
                     FULL["width_per_group"])
    model.load_state_dict(formula_state(model))
    x = formula_input((FULL["batch"], 3, FULL["size"], FULL["size"]))

    def compute(dtype):
        m = copy.deepcopy(model).to(dtype).eval()
        with torch.no_grad():
            feature = m.features(x.to(dtype))
            return OrderedDict(feature=feature, logits=m.fc_cb(feature))

    g.save("resnext50_formula", g.twice("resnext50_formula", compute), **FULL, formula=FORMULA,
           official_checked=official_checked,
           procedure="formula state dict and x -> eval-mode forward -> feature (pooled), logits (fc_cb)")


def infer_model(state):
    """gen_nn.infer_model, extended to the Resnet_LT.py models: those have a
    4-D conv1.weight and bottlenecks with layer1.0.conv3; the grouped
    layerN.0.conv2.weight (width, width/groups, 3, 3) give the groups and
    the least width per group giving every stage's width."""
    if "layer1.0.conv3.weight" not in state:
        return g.infer_model(state)
    nf = state["conv1.weight"].shape[0]
    width, per_group = state["layer1.0.conv2.weight"].shape[:2]
    groups = width // per_group
    widths = [state[f"layer{i}.0.conv2.weight"].shape[0] // groups for i in range(1, 5)]
    width_per_group = next(w for w in range(1, 64 * widths[-1] + 65)
                           if all(int((nf << i) * (w / 64.0)) == widths[i] for i in range(4)))
    blocks = tuple(len({k.split(".")[1] for k in state if k.startswith(f"layer{i}.")}) for i in range(1, 5))
    classes, hidden = state["fc_cb.weight"].shape[0], state["projection_head.0.weight"].shape[0]
    desc = f"Resnet_LT {blocks} nf={nf} groups={groups} width_per_group={width_per_group} hidden={hidden} classes={classes}"
    return desc, ResNetLT(blocks, classes, nf, hidden, groups, width_per_group)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--official", metavar="FILE", help="the official GLMC-2023/model/Resnet_LT.py to cross-check with")
    ap.add_argument("--check", metavar="STATE",
                    help="as gen_nn.py --check, for every architecture gen_nn.py knows and the Resnet_LT.py ones")
    args = ap.parse_args()
    torch.set_num_threads(1)
    if args.check:
        base = args.check[: -len(".safetensors")] if args.check.endswith(".safetensors") else args.check
        return g.check(args.check, base + ".logits.safetensors", infer_model)
    os.makedirs(g.OUT, exist_ok=True)
    if args.official:
        cross_check(load_official(args.official))
    g.layer_file("grouped_conv2d", 71, GROUPED_CASES, make_grouped)
    g.layer_file("maxpool2d", 72, MAXPOOL_CASES, make_maxpool)
    for cfg in MODELS:
        g.model_fixture(cfg, make_lt)
    eval_backward_fixture(NARROW)
    checkpoint_fixtures()
    full_fixture(bool(args.official))
    names = ["grouped_conv2d", "maxpool2d", "checkpoints_lt", "resnext50_formula", NARROW["name"]] + [c["name"] for c in MODELS]
    g.print_sizes([n + ".safetensors" for n in names] + [c["file"] for c in CHECKPOINTS])
    return 0


if __name__ == "__main__":
    sys.exit(main())
