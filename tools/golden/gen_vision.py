#!/usr/bin/python3
"""Writes the PIL/torchvision fixtures that data's image decoding and the
official ImageNet-LT transforms are tested against.

    apt-get install -y --no-install-recommends python3-torchvision python3-pil
    /usr/bin/python3 tools/golden/gen_vision.py

Into data/testdata/vision/:

- decode/: small JPEG and PNG files in every colour mode the decoder must
  handle, each with <name>.ppm, what PIL's Image.open(f).convert('RGB')
  makes of it. PIL writes the files; the ones it cannot write (16-bit
  RGB/RGBA PNG, a YCCK JPEG) are written by hand below.
- transform/src.png, a 53x41 RGB image, and transform/<case>.ppm, what the
  torchvision 0.14 / PIL function named in cases.json makes of it with the
  parameters there (torchvision's random parameter draws are replaced by
  fixed ones: the Go code draws from its own generator).
- rrc.json: torchvision's RandomResizedCrop.get_params on images of given
  sizes under torch.manual_seed(k), with the raw draws it consumed, so the
  Go rule can be run on the same draws.

Deterministic: a second run rewrites the same bytes (with the same PIL,
libjpeg and torch). Needs Debian's /usr/bin/python3 with python3-pil,
python3-numpy, python3-torch and python3-torchvision (Pillow 9.4,
torchvision 0.14.1, libjpeg-turbo 2.1 at the time of writing).
"""

import json
import math
import os
import random
import struct
import sys
import zlib

import numpy as np
import torch
import torchvision
import torchvision.transforms as T
import torchvision.transforms.functional as F
from PIL import Image, ImageFilter

VERSION = 1
OUT = os.path.join(os.path.dirname(__file__), "..", "..", "data", "testdata", "vision")


def ppm(img, path):
    """Writes an RGB image as binary PPM (P6), which the Go test reads
    without going through the decoder under test."""
    a = np.asarray(img.convert("RGB") if img.mode != "RGB" else img, dtype=np.uint8)
    h, w, _ = a.shape
    with open(path, "wb") as f:
        f.write(b"P6\n%d %d\n255\n" % (w, h))
        f.write(a.tobytes())


def smooth(w, h, channels, seed, depth=255):
    """A smooth image with some noise: gradients and waves per channel,
    so resampling and chroma subsampling have something to do."""
    rs = np.random.RandomState(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    out = []
    for c in range(channels):
        fx, fy, ph = rs.uniform(0.05, 0.4), rs.uniform(0.05, 0.4), rs.uniform(0, 6)
        v = 0.5 + 0.35 * np.sin(fx * x + ph) * np.cos(fy * y) + 0.1 * (x / w - y / h)
        v += rs.normal(0, 0.06, size=v.shape)
        out.append(np.clip(np.round(v * depth), 0, depth))
    a = np.stack(out, axis=-1)
    return a[..., 0] if channels == 1 else a


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png16(a, color_type, path):
    """Writes a 16-bit PNG by hand (PIL writes 16 bits only for grey)."""
    h, w = a.shape[:2]
    raw = b"".join(b"\x00" + a[r].astype(">u2").tobytes() for r in range(h))
    data = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, color_type, 0, 0, 0))
    data += png_chunk(b"IDAT", zlib.compress(raw, 9)) + png_chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(data)


def decode_fixtures(out):
    os.makedirs(out, exist_ok=True)
    rgb = Image.fromarray(smooth(67, 45, 3, 1).astype(np.uint8), "RGB")
    files = {}
    for name, kw in [("jpeg_444", dict(subsampling=0)), ("jpeg_422", dict(subsampling=1)),
                     ("jpeg_420", dict(subsampling=2)), ("jpeg_progressive", dict(subsampling=2, progressive=True))]:
        files[name + ".jpg"] = lambda p, kw=kw: rgb.save(p, "JPEG", quality=90, **kw)
    grey = Image.fromarray(smooth(67, 45, 1, 2).astype(np.uint8), "L")
    files["jpeg_grey.jpg"] = lambda p: grey.save(p, "JPEG", quality=90)
    cmyk = Image.fromarray(smooth(67, 45, 4, 3).astype(np.uint8), "CMYK")
    files["jpeg_cmyk.jpg"] = lambda p: cmyk.save(p, "JPEG", quality=90)

    def ycck(p):
        # PIL writes CMYK JPEGs with an Adobe APP14 marker of transform 0;
        # transform 2 makes decoders read the same data as YCCK (YCbCr
        # then inverted to CMY, plus K), which libjpeg converts to CMYK.
        cmyk.save(p, "JPEG", quality=90)
        b = bytearray(open(p, "rb").read())
        i = b.index(b"Adobe")
        assert b[i + 11] == 0, "expected Adobe transform 0"
        b[i + 11] = 2
        open(p, "wb").write(bytes(b))
    files["jpeg_ycck.jpg"] = ycck

    files["png_rgb.png"] = lambda p: rgb.save(p)
    rgba = Image.fromarray(np.dstack([smooth(67, 45, 3, 4), smooth(67, 45, 1, 5)]).astype(np.uint8), "RGBA")
    files["png_rgba.png"] = lambda p: rgba.save(p)
    files["png_grey.png"] = lambda p: grey.save(p)
    la = Image.fromarray(np.dstack([smooth(67, 45, 1, 6), smooth(67, 45, 1, 7)]).astype(np.uint8), "LA")
    files["png_grey_alpha.png"] = lambda p: la.save(p)
    pal = rgb.quantize(colors=37)
    files["png_palette.png"] = lambda p: pal.save(p)
    files["png_palette_trns.png"] = lambda p: pal.save(p, transparency=bytes(range(0, 256, 7)))
    files["png_bilevel.png"] = lambda p: grey.convert("1").save(p)
    files["png_rgb_trns.png"] = lambda p: rgb.save(p, transparency=tuple(int(v) for v in np.asarray(rgb)[0, 0]))
    g16 = Image.fromarray(smooth(67, 45, 1, 8, depth=65535).astype(np.uint16), "I;16")
    files["png_grey16.png"] = lambda p: g16.save(p)
    files["png_grey16_low.png"] = lambda p: Image.fromarray((smooth(67, 45, 1, 9) + 5).astype(np.uint16), "I;16").save(p)
    files["png_rgb16.png"] = lambda p: png16(smooth(67, 45, 3, 10, depth=65535), 2, p)
    files["png_rgba16.png"] = lambda p: png16(smooth(67, 45, 4, 11, depth=65535), 6, p)

    for name, write in sorted(files.items()):
        path = os.path.join(out, name)
        write(path)
        with open(path, "rb") as f:
            im = Image.open(f)
            mode = im.mode
            ppm(im.convert("RGB"), os.path.join(out, os.path.splitext(name)[0] + ".ppm"))
        print(f"decode/{name}: PIL mode {mode}", file=sys.stderr)


class FixedJitter(T.ColorJitter):
    """ColorJitter with the parameters given instead of drawn."""

    def __init__(self, order, b, c, s):
        super().__init__(0.4, 0.4, 0.4, 0)
        self.fixed = (torch.tensor(order), b, c, s, None)

    def get_params(self, *args):
        return self.fixed


def transform_fixtures(out):
    os.makedirs(out, exist_ok=True)
    src = Image.fromarray(smooth(53, 41, 3, 20).astype(np.uint8), "RGB")
    src.save(os.path.join(out, "src.png"))
    cases = []

    def add(name, img, **params):
        ppm(img, os.path.join(out, name + ".ppm"))
        cases.append(dict(name=name, **params))

    for w, h in [(17, 13), (26, 20), (80, 61), (53, 20), (7, 5), (96, 96)]:
        add(f"resize_{w}x{h}", F.resize(src, [h, w]), op="resize", w=w, h=h)
    for size, crop in [(32, 28), (20, 17), (41, 41), (256, 224)]:
        add(f"eval_{size}_{crop}", T.Compose([T.Resize(size), T.CenterCrop(crop)])(src), op="eval", resize=size, crop=crop)
    for i, j, h, w, size in [(3, 5, 30, 20, 24), (0, 0, 41, 53, 16), (10, 2, 7, 31, 24), (0, 0, 41, 53, 96)]:
        add(f"resized_crop_{i}_{j}_{h}_{w}_{size}", F.resized_crop(src, i, j, h, w, [size, size]), op="resized_crop", i=i, j=j, h=h, w=w, size=size)
    for f in [0.6, 0.93, 1.4]:
        add(f"brightness_{f}", F.adjust_brightness(src, f), op="brightness", factor=f)
    for f in [0.6, 1.25, 1.4]:
        add(f"contrast_{f}", F.adjust_contrast(src, f), op="contrast", factor=f)
    for f in [0.7, 1.4]:
        add(f"saturation_{f}", F.adjust_saturation(src, f), op="saturation", factor=f)
    add("grayscale", F.rgb_to_grayscale(src, num_output_channels=3), op="grayscale")
    add("hflip", F.hflip(src), op="hflip")
    for sigma in [0.1, 0.55, 1.3, 2.0, 1.7320508]:
        add(f"blur_{sigma}", src.filter(ImageFilter.GaussianBlur(radius=sigma)), op="blur", sigma=sigma)
    for k, (order, b, c, s) in enumerate([([2, 0, 3, 1], 1.2, 0.7, 1.33), ([1, 2, 0, 3], 0.65, 1.38, 0.61),
                                          ([3, 1, 0, 2], 1.01, 0.99, 1.4)]):
        add(f"jitter_{k}", FixedJitter(order, b, c, s)(src), op="jitter", order=order, brightness=b, contrast=c, saturation=s)
    with open(os.path.join(out, "cases.json"), "w") as f:
        json.dump(dict(version=VERSION, torchvision=torchvision.__version__, pil=Image.__version__, cases=cases), f, indent=1)
        f.write("\n")


def rrc_cases(path):
    """RandomResizedCrop(224).get_params under fixed seeds, with the raw
    draws it consumed: per attempt the scale and log-ratio uniforms (float32
    values), and the two randint results when the attempt fits."""
    scale, ratio = (0.08, 1.0), (3.0 / 4.0, 4.0 / 3.0)
    out = []
    for w, h in [(500, 375), (53, 41), (224, 224), (1000, 12), (12, 1000), (60, 2), (3, 4)]:
        img = Image.new("RGB", (w, h))
        for seed in range(6):
            torch.manual_seed(seed)
            want = T.RandomResizedCrop.get_params(img, list(scale), list(ratio))
            torch.manual_seed(seed)
            log_ratio = torch.log(torch.tensor(ratio))
            attempts, got = [], None
            for _ in range(10):
                u = torch.empty(1).uniform_(scale[0], scale[1]).item()
                r = torch.empty(1).uniform_(log_ratio[0], log_ratio[1]).item()
                a = {"scale": u, "log_ratio": r}
                attempts.append(a)
                target = w * h * u
                aspect = torch.exp(torch.tensor(r, dtype=torch.float32)).item()
                cw, ch = int(round(math.sqrt(target * aspect))), int(round(math.sqrt(target / aspect)))
                if 0 < cw <= w and 0 < ch <= h:
                    a["i"] = torch.randint(0, h - ch + 1, size=(1,)).item()
                    a["j"] = torch.randint(0, w - cw + 1, size=(1,)).item()
                    got = (a["i"], a["j"], ch, cw)
                    break
            if got is None:
                got = T.RandomResizedCrop.get_params(img, [2.0, 2.0], list(ratio))  # only the fallback fits
            assert tuple(got) == tuple(want), (w, h, seed, got, want)
            out.append(dict(w=w, h=h, seed=seed, attempts=attempts, want=list(want)))
    with open(path, "w") as f:
        json.dump(dict(version=VERSION, cases=out), f, indent=1)
        f.write("\n")


def main():
    torch.set_num_threads(1)
    random.seed(0)
    decode_fixtures(os.path.join(OUT, "decode"))
    transform_fixtures(os.path.join(OUT, "transform"))
    rrc_cases(os.path.join(OUT, "rrc.json"))
    total = 0
    for root, _, files in os.walk(OUT):
        total += sum(os.path.getsize(os.path.join(root, f)) for f in files)
    print(f"{OUT}: {total} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
