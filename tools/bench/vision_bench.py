#!/usr/bin/python3
"""Decode and augmentation throughput of PIL + torchvision, one thread,
on the same files as glmc's `go test -bench Vision ./data`:

    /usr/bin/python3 tools/bench/vision_bench.py DIR              # up to 1000 files under DIR
    GLMC_BENCH_IMAGES=DIR go test -run '^$' -bench Vision -benchtime 1000x ./data
    /usr/bin/python3 tools/bench/vision_bench.py --make-large OUT  # 64 JPEGs of 500x375

Files are read into memory first, as the Go benchmark does, so disk speed
is out of the figures. Prints one JSON line per figure: decode only
(Image.open(...).convert('RGB')), decode plus the official ImageNet-LT
training transform (utils/util.py), decode plus the evaluation one.
--make-large writes what the Go benchmark generates when no directory is
given (the same pattern, 500x375, quality 90, 4:2:0), for a second set.
"""
import argparse, io, json, os, sys, time

import numpy as np
import torch
import torchvision.transforms as T
from PIL import Image, ImageFilter
import random


class GaussianBlur:
    """moco's GaussianBlur, as the official utils/moco_loader.py."""

    def __init__(self, sigma=(0.1, 2.0)):
        self.sigma = sigma

    def __call__(self, x):
        return x.filter(ImageFilter.GaussianBlur(radius=random.uniform(*self.sigma)))


normalize = T.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])
train = T.Compose([T.RandomResizedCrop(224), T.RandomApply([T.ColorJitter(0.4, 0.4, 0.4, 0.0)], p=1.0),
                   T.RandomGrayscale(p=0.2), T.RandomApply([GaussianBlur([0.1, 2.0])], p=0.5),
                   T.RandomHorizontalFlip(), T.ToTensor(), normalize])
evaluate = T.Compose([T.Resize(256), T.CenterCrop(224), T.ToTensor(), normalize])


def files(d):
    out = []
    for root, _, names in os.walk(d):
        out += [os.path.join(root, n) for n in names if n.lower().endswith((".jpg", ".jpeg", ".png"))]
    return sorted(out)[:1000]


def bench(kind, blobs, fn, min_seconds=3.0):
    """Images per second of processor time (time.process_time), as the Go
    benchmark's img/cpu-s: on a shared machine the wall clock mostly
    measures the neighbours."""
    n, start = 0, time.process_time()
    while True:
        for b in blobs:
            fn(Image.open(io.BytesIO(b)).convert("RGB"))
            n += 1
        t = time.process_time() - start
        if t >= min_seconds:
            break
    print(json.dumps({"kind": kind, "impl": "pil+torchvision", "images": len(blobs), "img_per_cpu_s": round(n / t, 1)}))


def make_large(out):
    """The Go benchmark's generated images (testImage in data's tests)."""
    os.makedirs(out, exist_ok=True)
    w, h = 500, 375
    y, x = np.mgrid[0:h, 0:w]
    for i in range(64):
        r = (x * 255 // (w - 1) + i * 37) % 256
        g = (y * 255 // (h - 1) + i * 11) % 256
        b = ((x + y) * 7 + i) % 256
        Image.fromarray(np.dstack([r, g, b]).astype(np.uint8)).save(os.path.join(out, f"{i:03d}.jpg"), quality=90)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("dir", nargs="?")
    p.add_argument("--make-large")
    a = p.parse_args()
    if a.make_large:
        make_large(a.make_large)
        return
    torch.set_num_threads(1)
    torch.manual_seed(0)
    random.seed(0)
    blobs = [open(f, "rb").read() for f in files(a.dir)]
    bench("decode", blobs, lambda im: im)
    bench("decode_train", blobs, train)
    bench("decode_eval", blobs, evaluate)


if __name__ == "__main__":
    main()
