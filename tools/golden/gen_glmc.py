#!/usr/bin/python3
"""PyTorch golden fixture for package glmc: one full GLMC training step.

Run by hand with Debian's PyTorch; CI only reads the committed file:

    /usr/bin/python3 tools/golden/gen_glmc.py

It rewrites glmc/testdata/glmc_step.safetensors: a width-4 resnet32
(ResNet_modify, heads to 128, 10 classes) goes through one step of the
official GLMC recipe (GLMC-2023/Trainer.py and utils/util.py) on fixed
batches, with lambda and the CutMix box drawn as the official code draws
them (numpy: lam = beta(1, 1), then the box centre, row then column), up to
and including the Trainer's torch.optim.SGD update. It also rewrites
glmc/testdata/ce_step.safetensors: one step of the plain cross-entropy
baseline from the same initial model on the uniform batch's first view.
The model, the file format and the float32-vs-float64 check are
gen_nn.py's. glmc/testdata/README.md lists every tensor.
"""

import copy
import os
import sys
from collections import OrderedDict

import numpy as np
import torch
import torch.nn.functional as F

sys.dont_write_bytecode = True  # no __pycache__ beside the scripts
import gen_nn  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "glmc", "testdata")

# CIFAR-10-LT at imbalance factor 100: all three shot groups, and tiny
# label weights for the head class at tau = 1.2.
COUNTS = [5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50]
MODEL = dict(block="BasicBlock_s", blocks=[5, 5, 5], nf=4, hidden=128, classes=10, size=32, seed=51)
# Row 1 has the same class in both batches, so its mixed label is
# float32(lam) + float32(1 - lam) in one entry.
Y = [0, 3, 7, 9]
YR = [9, 3, 1, 5]
# tau is DESIGN's default label weighting; gamma = 2 (an int, as the
# official --contrast_weight) so that a forgotten factor shows; epoch 37 of
# 50 gives alpha = 0.4524, far from 1 - ((37+1)/50)^2 = 0.4224.
STEP = dict(tau=1.2, gamma=2, epoch=37, epochs=50)
# np.random.RandomState(5) gives lam = 0.6126 and a box clipped at column 0
# whose row extent stops one short of the border (rows 11..31, columns 0..17).
DRAW_SEED = 5
# The Trainer's optimizer: torch.optim.SGD with momentum 0.9 and weight
# decay 5e-3 (dampening 0, no Nesterov). The lr is 10x the official default
# so that the update, and any error in it, stands well above the parity
# tolerance of the parameters.
SGD = dict(lr=0.1, momentum=0.9, weight_decay=5e-3)

# rand_bbox cases (h, w, lam, row, col): lam at and next to 0 and 1, a side
# that is an odd integer in real arithmetic but not in float64
# (15*sqrt(1-0.96) = 3.0000000000000013: side 4, half-side 2), odd sides,
# non-square images (a swapped h and w shows), clipping on every side; then
# random cases.
BBOX_CASES = [
    (32, 32, 0.0, 16, 16), (32, 32, 0.0, 0, 31), (32, 32, 1.0, 5, 7), (32, 32, 1 - 1e-12, 10, 10),
    (32, 32, 1e-12, 3, 30), (32, 32, 0.75, 31, 0), (15, 15, 0.96, 7, 7), (28, 28, 0.19, 27, 14),
    (7, 5, 0.5, 6, 0), (5, 7, 0.5, 0, 6), (31, 17, 0.3, 2, 16), (17, 31, 0.3, 16, 2), (1, 1, 0.3, 0, 0),
    (2, 3, 0.0, 1, 2), (3, 3, 0.0, 1, 1),
]
BBOX_RANDOM = 24


# ------------------------------------------------- the official formulation


def box_at(size, lam, c2, c3):
    """utils.util.rand_bbox after its centre draw: size is (N, C, H, W) and
    (c2, c3) the centre along dimensions 2 and 3 (the official names them W
    and H). Returns (bbx1, bby1, bbx2, bby2); bbx* index dimension 2."""
    ratio = np.sqrt(1.0 - lam)
    cut2 = int(np.ceil(size[2] * ratio))
    cut3 = int(np.ceil(size[3] * ratio))
    return (int(np.clip(c2 - cut2 // 2, 0, size[2])), int(np.clip(c3 - cut3 // 2, 0, size[3])),
            int(np.clip(c2 + cut2 // 2, 0, size[2])), int(np.clip(c3 + cut3 // 2, 0, size[3])))


def draw(rng, size):
    """The draws of one official step from one numpy stream: lam in
    GLMC_mixed (its alpha=1 default; the Trainer's beta(args.beta) draw is
    never used), then rand_bbox's centre, dimension 2 first."""
    lam = rng.beta(1.0, 1.0)
    c2 = rng.randint(size[2])
    c3 = rng.randint(size[3])
    return lam, (c2, c3), box_at(size, lam, c2, c3)


def label_weights(counts, tau):
    """Trainer.update_weight: n^-tau / sum * C in float64, then float32."""
    w = 1.0 / (np.array(counts) ** tau)
    return torch.FloatTensor(w / np.sum(w) * len(counts))


def glmc_mixed(org1, org2, invs1, invs2, label_org, label_invs, label_org_w, label_invs_w, lam, box):
    """utils.util.GLMC_mixed with lam and the box given: MixUp of the first
    views, CutMix of the second (pasted into a copy, not in place), labels
    of both mixed with lam."""
    bbx1, bby1, bbx2, bby2 = box
    mixup_x = lam * org1 + (1 - lam) * invs1
    cut_x = org2.clone()
    cut_x[:, :, bbx1:bbx2, bby1:bby2] = invs2[:, :, bbx1:bbx2, bby1:bby2]
    mixup_y = lam * label_org + (1 - lam) * label_invs
    mixup_y_w = lam * label_org_w + (1 - lam) * label_invs_w
    cutmix_y = lam * label_org + (1 - lam) * label_invs
    cutmix_y_w = lam * label_org_w + (1 - lam) * label_invs_w
    return mixup_x, cut_x, mixup_y, cutmix_y, mixup_y_w, cutmix_y_w


def soft_ce(logits, target):
    return -torch.mean(torch.sum(F.log_softmax(logits, dim=1) * target, dim=1))


def simsiam(p, z):
    """Trainer.SimSiamLoss, 'simplified' version."""
    return -F.cosine_similarity(p, z.detach(), dim=-1).mean()


def glmc_loss(heads, mixup_y, cutmix_y, mixup_y_w, cutmix_y_w, alpha):
    """The loss of Trainer.train from the heads of the MixUp pass (heads[0])
    and of the CutMix pass (heads[1]): its terms and the total, "loss"."""
    h1, h2 = heads
    terms = OrderedDict([
        ("loss_mix", soft_ce(h1["fc"], mixup_y)),
        ("loss_cut", soft_ce(h2["fc"], cutmix_y)),
        ("loss_mix_w", soft_ce(h1["fc_cb"], mixup_y_w)),
        ("loss_cut_w", soft_ce(h2["fc_cb"], cutmix_y_w)),
        ("contrastive", simsiam(h1["p"], h2["z"]) + simsiam(h2["p"], h1["z"])),
    ])
    terms["loss"] = (alpha * (terms["loss_mix"] + terms["loss_cut"])
                     + (1 - alpha) * (terms["loss_mix_w"] + terms["loss_cut_w"])
                     + STEP["gamma"] * terms["contrastive"])
    return terms


# ------------------------------------------------- the fixture


def sgd_step(m):
    """The Trainer's optimizer step on the gradients m holds; returns the
    parameters after it as after.<name>, for those that have a gradient
    (torch.optim.SGD skips the others, so they keep their init.* values)."""
    torch.optim.SGD(m.parameters(), **SGD).step()
    return OrderedDict((f"after.{k}", p.detach().clone()) for k, p in m.named_parameters() if p.grad is not None)


def ce_step(model, x, y, dtype):
    """One step of the cross-entropy baseline: the fc_cb logits of x in
    training mode (the official model(x)), F.cross_entropy against y (equal
    to the soft-label CE of the one-hot labels), backward, SGD step. fc and
    the two contrast heads get no gradient (grad None, so no grad.* or
    after.* entry) and the step leaves them alone: no weight decay either."""
    m = copy.deepcopy(model).to(dtype).train()
    loss = F.cross_entropy(m(x.to(dtype)), torch.tensor(y))
    loss.backward()
    out = OrderedDict(loss=loss.detach())
    out.update((f"grad.{k}", p.grad.clone()) for k, p in m.named_parameters() if p.grad is not None)
    out.update(sgd_step(m))
    out.update((f"stats.{k}", b.clone()) for k, b in m.named_buffers())
    return out


def random_heads_case(gen, labels, alpha):
    """The loss alone on random head outputs (as leaves), where unlike at
    the model's initialisation the z of the two passes differ widely, so
    the pairing of the SimSiam terms shows: tensors heads.out<pass>.<head>,
    heads.<term> and heads.grad_out<pass>.<fc, fc_cb, p>."""
    width = {"fc": MODEL["classes"], "fc_cb": MODEL["classes"], "z": MODEL["hidden"], "p": MODEL["hidden"]}
    raw = [OrderedDict((k, gen_nn.randn(gen, len(Y), width[k], scale=2.0)) for k in gen_nn.HEADS) for _ in range(2)]

    def compute(dtype):
        leaves = [{k: v.to(dtype, copy=True).requires_grad_() for k, v in h.items()} for h in raw]
        terms = glmc_loss(leaves, *(t.to(dtype) for t in labels), alpha)
        terms["loss"].backward()
        out = OrderedDict((f"heads.{k}", v.detach()) for k, v in terms.items())
        for i, h in enumerate(leaves, 1):
            out.update((f"heads.grad_out{i}.{k}", h[k].grad) for k in ("fc", "fc_cb", "p"))
        return out

    tensors = OrderedDict((f"heads.out{i}.{k}", v) for i, h in enumerate(raw, 1) for k, v in h.items())
    tensors.update(gen_nn.twice("glmc_loss", compute))
    return tensors


def bbox_table():
    rng = np.random.RandomState(61)
    cases = list(BBOX_CASES)
    for _ in range(BBOX_RANDOM):
        h, w = rng.randint(1, 41), rng.randint(1, 41)
        cases.append((h, w, rng.beta(1.0, 1.0), rng.randint(h), rng.randint(w)))
    inputs = torch.tensor([[h, w, r, c] for h, w, _, r, c in cases], dtype=torch.int64)
    lams = torch.tensor([lam for _, _, lam, _, _ in cases], dtype=torch.float64)
    boxes = torch.tensor([box_at((1, 1, h, w), lam, r, c) for h, w, lam, r, c in cases], dtype=torch.int64)
    return OrderedDict([("bbox.input", inputs), ("bbox.lambda", lams), ("bbox.box", boxes)])


def main():
    torch.set_num_threads(1)
    torch.manual_seed(MODEL["seed"])
    model = gen_nn.build(MODEL["block"], MODEL["blocks"], MODEL["classes"], MODEL["nf"], MODEL["hidden"])
    gen = torch.Generator().manual_seed(MODEL["seed"] + 100)
    shape = (len(Y), 3, MODEL["size"], MODEL["size"])
    views = OrderedDict((k, gen_nn.randn(gen, *shape)) for k in ("x1", "x2", "xr1", "xr2"))
    lam, centre, box = draw(np.random.RandomState(DRAW_SEED), shape)
    assert box[1] == 0 and box[2] < MODEL["size"], "DRAW_SEED no longer gives a clipped box"
    weights = label_weights(COUNTS, STEP["tau"])
    alpha = 1 - (STEP["epoch"] / STEP["epochs"]) ** 2
    classes = MODEL["classes"]

    def compute(dtype):
        out = OrderedDict()
        one_hot = torch.zeros(len(Y), classes).scatter_(1, torch.tensor(Y).view(-1, 1), 1).to(dtype)
        one_hot_r = torch.zeros(len(YR), classes).scatter_(1, torch.tensor(YR).view(-1, 1), 1).to(dtype)
        w = weights.to(dtype)
        x1, x2, xr1, xr2 = (v.to(dtype) for v in views.values())
        mixed = glmc_mixed(x1, x2, xr1, xr2, one_hot, one_hot_r, w * one_hot, w * one_hot_r, lam, box)
        for k, v in zip(("mix_x", "cut_x", "mixup_y", "cutmix_y", "mixup_y_w", "cutmix_y_w"), mixed):
            out[k] = v
        m = copy.deepcopy(model).to(dtype).train()
        heads = [dict(zip(gen_nn.HEADS, m(out["mix_x"], train=True))),
                 dict(zip(gen_nn.HEADS, m(out["cut_x"], train=True)))]
        for h in heads:
            for o in h.values():
                o.retain_grad()
        terms = glmc_loss(heads, out["mixup_y"], out["cutmix_y"], out["mixup_y_w"], out["cutmix_y_w"], alpha)
        terms["loss"].backward()
        for i, h in enumerate(heads, 1):
            out.update((f"out{i}.{k}", o.detach()) for k, o in h.items())
        out.update((k, v.detach()) for k, v in terms.items())
        # The gradients of the loss with respect to the outputs that reach it
        # only through the loss terms (z also feeds p, so its gradient is
        # the model's business, not the loss's).
        for i, h in enumerate(heads, 1):
            out.update((f"grad_out{i}.{k}", h[k].grad) for k in ("fc", "fc_cb", "p"))
        out.update((f"grad.{k}", p.grad.clone()) for k, p in m.named_parameters())
        out.update((f"stats.{k}", b.clone()) for k, b in m.named_buffers())
        out.update(sgd_step(m))
        return out

    tensors = OrderedDict((f"init.{k}", v.clone()) for k, v in model.state_dict().items())
    tensors.update(views)
    tensors.update(y=torch.tensor(Y, dtype=torch.int64), yr=torch.tensor(YR, dtype=torch.int64),
                   counts=torch.tensor(COUNTS, dtype=torch.int64),
                   **{"lambda": torch.tensor(lam, dtype=torch.float64)},
                   centre=torch.tensor(centre, dtype=torch.int64), box=torch.tensor(box, dtype=torch.int64),
                   weights=weights)
    tensors.update(bbox_table())
    tensors.update(gen_nn.twice("glmc_step", compute))
    tensors.update(random_heads_case(gen, [tensors[k] for k in ("mixup_y", "cutmix_y", "mixup_y_w", "cutmix_y_w")],
                                     alpha))
    gen_nn.OUT = OUT  # gen_nn.save writes, and checks, <OUT>/<name>.safetensors
    os.makedirs(OUT, exist_ok=True)
    path = gen_nn.save(
        "glmc_step", tensors, **MODEL, **STEP, **SGD, alpha=alpha, draw_seed=DRAW_SEED,
        procedure="lam, centre, box from numpy RandomState(draw_seed): beta(1,1), randint(H), randint(W); "
                  "GLMC_mixed(x1, x2, xr1, xr2, onehot(y), onehot(yr), weights*onehot(y), weights*onehot(yr)) "
                  "-> mix_x, cut_x, mixup_y, cutmix_y, mixup_y_w, cutmix_y_w; init.* -> train-mode forward of "
                  "mix_x (out1.*) then of cut_x (out2.*); loss terms, loss = alpha*(loss_mix+loss_cut) + "
                  "(1-alpha)*(loss_mix_w+loss_cut_w) + gamma*contrastive, contrastive = simsiam(p1, z2) + "
                  "simsiam(p2, z1); backward -> grad_out*, grad.*; buffers after both forwards -> stats.*; "
                  "torch.optim.SGD(lr, momentum, weight_decay).step() -> after.*; "
                  "the same loss on random heads.out* with the step's labels -> heads.*")
    print(f"{os.path.getsize(path):9d}  {os.path.relpath(path, ROOT)}  lambda {lam:.4f} box {box}")
    ce = gen_nn.twice("ce_step", lambda dtype: ce_step(model, views["x1"], Y, dtype))
    path = gen_nn.save(
        "ce_step", ce, init="glmc_step.safetensors", x="x1", y="y", **SGD,
        procedure="init.* of glmc_step -> train-mode fc_cb logits of its x1; loss = F.cross_entropy(logits, y); "
                  "backward -> grad.*; torch.optim.SGD(lr, momentum, weight_decay).step() -> after.*; "
                  "buffers after the forward -> stats.*")
    print(f"{os.path.getsize(path):9d}  {os.path.relpath(path, ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
