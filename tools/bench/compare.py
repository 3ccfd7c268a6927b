#!/usr/bin/env python3
"""Side-by-side benchmark: glmc against the PyTorch/OpenBLAS reference.

Runs `glmc bench --json` and ../shared/bench/torch_bench.py alternately,
ROUNDS times each, on the same machine in one go, then prints for every
figure the median of each and their ratio (glmc / reference). Absolute
numbers on shared machines drift; the ratio of medians measured
back-to-back is the figure to quote.

  /usr/bin/python3 tools/bench/compare.py --what gemm --threads 1 --rounds 5
  /usr/bin/python3 tools/bench/compare.py --what conv --threads 2 --nf 16 --rounds 3
  /usr/bin/python3 tools/bench/compare.py --what infer --arch resnext50_32x4d --threads 2 --rounds 3

With --arch resnet50_lt or resnext50_32x4d the reference is torch_lt.py
(--torch-lt) and the figure its lt_infer one: the real-size ImageNet-LT
model, 1000 classes, batches of 8 224x224 images.

Each run's peak resident memory is a figure too ("peak RSS"; with --what
train alone it is that of the training step, the issue's memory bar).

Needs Debian's python3-torch and libopenblas0-pthread for the reference.
"""
import argparse, json, os, statistics, subprocess, sys

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(os.path.dirname(here))

p = argparse.ArgumentParser()
p.add_argument("--what", default="gemm")
p.add_argument("--threads", type=int, default=1)
p.add_argument("--nf", type=int, default=16, help="width of resnet32")
p.add_argument("--arch", default="resnet32", help="model of --what infer: resnet32 (torch_bench.py's), resnet50_lt or resnext50_32x4d (torch_lt.py's)")
p.add_argument("--rounds", type=int, default=5)
p.add_argument("--glmc", default=os.path.join(root, "bin", "glmc"), help="built glmc binary (go build -o bin/glmc ./cmd/glmc)")
p.add_argument("--torch-bench", default=os.path.join(root, "..", "shared", "bench", "torch_bench.py"))
p.add_argument("--torch-lt", default=os.path.join(here, "torch_lt.py"), help="the reference of the ImageNet-LT architectures")
a = p.parse_args()
lt = a.arch != "resnet32"
if lt and a.what != "infer":
    p.error(f"--arch {a.arch} with --what {a.what}: the ImageNet-LT architectures are compared by --what infer alone")

# The figure each kind reports, and the fields that identify a record.
metric = {"sgemm": "gflops", "conv": "gflops", "glmc_train_step": "img_per_s", "infer": "img_per_s", "lt_infer": "img_per_s"}
ident = ("kind", "m", "n", "k", "model", "cin", "cout", "hw", "stride", "pass", "nf", "batch")

def run(cmd, env):
    """The figures of one run, and its peak resident memory in MiB (from
    wait4, the same measure for both programs) as the figure "peak RSS"."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise subprocess.CalledProcessError(proc.returncode, cmd)
    recs = {("peak_rss_mb",) + (None,) * (len(ident) - 1): usage.ru_maxrss / 1024}
    for line in out.splitlines():
        if line.startswith("{"):
            r = json.loads(line)
            recs[tuple(r.get(f) for f in ident)] = r[metric[r["kind"]]]
    return recs

env = dict(os.environ, OPENBLAS_NUM_THREADS=str(a.threads))
ours_cmd = [a.glmc, "bench", "--json", "--what", a.what, "--threads", str(a.threads), "--width", str(a.nf)]
if a.what == "gemm":
    ours_cmd = ours_cmd[:-2]  # --width means nothing to the GEMM figures
ref_cmd = ["/usr/bin/python3", a.torch_bench, "--threads", str(a.threads), "--nf", str(a.nf), "--what", a.what]
if lt:
    ours_cmd = ours_cmd[:-2] + ["--arch", a.arch]  # the width is resnet32's alone
    ref_cmd = ["/usr/bin/python3", a.torch_lt, "--threads", str(a.threads), "--rounds", "1", "--what", "infer", "--arch", a.arch]
ours, ref = {}, {}
for i in range(a.rounds):
    for k, v in run(ours_cmd, env).items():
        ours.setdefault(k, []).append(v)
    for k, v in run(ref_cmd, env).items():
        ref.setdefault(k, []).append(v)
    print(f"round {i + 1}/{a.rounds} done", file=sys.stderr)

print(f"{'figure':72} {'glmc':>10} {'reference':>10} {'ratio':>7}")
for k in ours:
    if k not in ref:
        continue
    name = " ".join(f"{f}={v}" for f, v in zip(ident, k) if v is not None)
    o, r = statistics.median(ours[k]), statistics.median(ref[k])
    print(f"{name:72} {o:10.1f} {r:10.1f} {o / r:7.2f}")
