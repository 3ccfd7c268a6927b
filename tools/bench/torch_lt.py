#!/usr/bin/python3
"""PyTorch reference for nn's ImageNet-LT benchmarks, figure for figure:

  go test ./nn -run '^$' -bench 'GroupedConv|LTInfer' -benchtime 3x -count 3
  /usr/bin/python3 tools/bench/torch_lt.py --threads 2 --rounds 3

BenchmarkGroupedConv/<shape>/{fwd,bwd} (GFLOP/s of ResNeXt-50 32x4d's
grouped 3x3 convolutions at batch 16; bwd is the input and the weight
gradient, counted as two passes) and BenchmarkLTInfer/<arch> (img/s of the
eval forward of the real-size model, 1000 classes, batches of 8 224x224
images). Pass the torchvision-free official model file with --official to
time Resnet_LT.py itself; by default gen_ltmodels.py's ResNetLT, which
gen_ltmodels.py --official checks to be the same network. Prints one JSON
line per figure and round; run it alternately with the Go benchmarks on an
otherwise idle machine and quote medians. --what infer --arch A prints the
lt_infer records of A alone, the figures of `glmc bench --what infer --arch
A`, which tools/bench/compare.py --arch A runs beside this script.
"""
import argparse
import importlib.util
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

GROUPS, CONV_BATCH, INFER_BATCH = 32, 16, 8
ARCHS = ("resnet50_lt", "resnext50_32x4d")
# name, channels, input size, stride: as nn's resnextConvs.
CONVS = [("128_56", 128, 56, 1), ("256_56to28", 256, 56, 2), ("256_28", 256, 28, 1), ("512_14", 512, 14, 1),
         ("1024_7", 1024, 7, 1)]


def seconds(fn, reps):
    fn()
    start = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - start) / reps


def conv_figures(reps):
    for name, ch, size, stride in CONVS:
        x = torch.randn(CONV_BATCH, ch, size, size, requires_grad=True)
        w = torch.randn(ch, ch // GROUPS, 3, 3, requires_grad=True)
        y = F.conv2d(x, w, None, stride, 1, 1, GROUPS)
        gy = torch.randn_like(y)
        flops = 2 * y.numel() * (ch // GROUPS) * 9
        with torch.no_grad():
            fwd = seconds(lambda: F.conv2d(x, w, None, stride, 1, 1, GROUPS), reps)

        def backward():
            torch.autograd.grad(F.conv2d(x, w, None, stride, 1, 1, GROUPS), (x, w), gy)

        bwd = seconds(backward, reps) - fwd
        yield dict(kind="grouped_conv", shape=name, pass_="fwd", gflops=round(flops / fwd / 1e9, 2))
        yield dict(kind="grouped_conv", shape=name, pass_="bwd", gflops=round(2 * flops / bwd / 1e9, 2))


def infer_figures(reps, official, archs):
    if official:
        spec = importlib.util.spec_from_file_location("Resnet_LT", official)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        models = {"resnet50_lt": lambda: module.resnet50(num_classes=1000),
                  "resnext50_32x4d": lambda: module.resnext50_32x4d(num_classes=1000)}
        forward = lambda m, x: m(x, train=False)  # noqa: E731
    else:
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "golden"))
        from gen_ltmodels import ResNetLT
        models = {"resnet50_lt": lambda: ResNetLT((3, 4, 6, 3), 1000),
                  "resnext50_32x4d": lambda: ResNetLT((3, 4, 6, 3), 1000, groups=32, width_per_group=4)}
        forward = lambda m, x: m(x)  # noqa: E731
    x = torch.randn(INFER_BATCH, 3, 224, 224)
    for arch in archs:
        m = models[arch]().eval()
        with torch.no_grad():
            sec = seconds(lambda: forward(m, x), reps)
        yield dict(kind="lt_infer", model=arch, batch=INFER_BATCH, img_per_s=round(INFER_BATCH / sec, 2))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--reps", type=int, default=3, help="timed calls per figure and round")
    ap.add_argument("--official", metavar="FILE", help="GLMC-2023/model/Resnet_LT.py to time instead of ResNetLT")
    ap.add_argument("--what", default="conv,infer", help="comma-separated figures: conv (grouped_conv), infer (lt_infer)")
    ap.add_argument("--arch", default=",".join(ARCHS), help="comma-separated models of the infer figures: " + ", ".join(ARCHS))
    args = ap.parse_args()
    what, archs = args.what.split(","), args.arch.split(",")
    for name, got, allowed in (("--what", what, ("conv", "infer")), ("--arch", archs, ARCHS)):
        if not got or any(g not in allowed for g in got):
            ap.error(f"{name} {','.join(got)}: want a comma-separated list of {', '.join(allowed)}")
    torch.set_num_threads(args.threads)
    for _ in range(args.rounds):
        recs = list(conv_figures(args.reps)) if "conv" in what else []
        recs += list(infer_figures(args.reps, args.official, archs)) if "infer" in what else []
        for rec in recs:
            rec = {k.rstrip("_"): v for k, v in rec.items()}
            print(json.dumps(dict(rec, threads=args.threads, torch=torch.__version__)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
