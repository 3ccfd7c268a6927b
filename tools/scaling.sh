#!/usr/bin/env bash
# Re-makes the figures of docs/clusters.md: all-reduce time and bus
# bandwidth of a training step's gradient buffer (glmc bench --what
# allreduce) on loopback and between two network namespaces joined by a
# veth pair, bare and shaped to 1 Gbit/s with tc tbf; one node's GLMC step
# compute (glmc bench --what train); glmc train's step time at P = 1, 2, 4
# ranks on this machine; and the cost model for 8 and 64 nodes. Prints
# JSON lines, then the model's table. The namespaces need root (ip netns);
# without it that part is skipped.
#
#   bash tools/scaling.sh            # everything (a few minutes on 2 cores)
#   WIDTHS=16 bash tools/scaling.sh  # fewer widths
#   C_16=0.53 C_64=4.7 bash tools/scaling.sh  # the model with given compute
set -euo pipefail
cd "$(dirname "$0")/.."

widths=(${WIDTHS:-16 64})
work=$(mktemp -d)
ns=gs$$ # interface names have at most 15 characters
cleanup() {
	ip netns del "${ns}a" 2>/dev/null || true
	ip netns del "${ns}b" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
CGO_ENABLED=0 go build -o "$work/glmc" ./cmd/glmc
glmc=$work/glmc
port=29711

# allreduce LABEL P WIDTH [CMD...]: P ranks of glmc bench --what allreduce
# meeting at 127.0.0.1 (or at $MASTER, with rank r run under PREFIX_r);
# prints rank 0's record with the label added.
allreduce() {
	local label=$1 p=$2 width=$3 master=${MASTER:-127.0.0.1} pids=()
	port=$((port + 1))
	for r in $(seq 1 $((p - 1))); do
		local prefix_var="PREFIX_$r"
		${!prefix_var:-} "$glmc" bench --what allreduce --json --width "$width" --rank "$r" --world-size "$p" \
			--master-addr "$master" --master-port "$port" &
		pids+=($!)
	done
	${PREFIX_0:-} "$glmc" bench --what allreduce --json --width "$width" --rank 0 --world-size "$p" \
		--master-addr "$master" --master-port "$port" | sed "s/^{/{\"link\":\"$label\",/"
	wait "${pids[@]}"
}

for w in "${widths[@]}"; do
	for p in 2 4; do
		allreduce loopback "$p" "$w"
	done
done

if [ "$(id -u)" = 0 ] && ip netns add "${ns}a" 2>/dev/null; then
	# Two namespaces, 10.231.0.1 and .2 on a veth pair: traffic never
	# leaves this machine.
	ip netns add "${ns}b"
	ip link add "${ns}va" type veth peer name "${ns}vb"
	ip link set "${ns}va" netns "${ns}a"
	ip link set "${ns}vb" netns "${ns}b"
	ip -n "${ns}a" addr add 10.231.0.1/24 dev "${ns}va"
	ip -n "${ns}b" addr add 10.231.0.2/24 dev "${ns}vb"
	for side in a b; do
		ip -n "${ns}$side" link set lo up
		ip -n "${ns}$side" link set "${ns}v$side" up
	done
	export MASTER=10.231.0.1 PREFIX_0="ip netns exec ${ns}a" PREFIX_1="ip netns exec ${ns}b"
	for w in "${widths[@]}"; do
		allreduce veth 2 "$w"
	done
	for side in a b; do
		ip netns exec "${ns}$side" tc qdisc add dev "${ns}v$side" root tbf rate 1gbit burst 256kb latency 50ms
	done
	for w in "${widths[@]}"; do
		allreduce veth-1gbit 2 "$w"
	done
	unset MASTER PREFIX_0 PREFIX_1
else
	echo '{"skipped":"network namespaces (need root and ip netns)"}'
fi

# One node's compute: the GLMC step of a batch of 64 (two views each).
for w in "${widths[@]}"; do
	"$glmc" bench --what train --json --width "$w" | tee -a "$work/compute.jsonl"
done

# glmc train's step time with P ranks sharing this machine's cores: one
# epoch of the synthetic set at the global batch 64, GOMAXPROCS 2/P.
for p in 1 2 4; do
	port=$((port + 1))
	pids=()
	for r in $(seq 0 $((p - 1))); do
		GOMAXPROCS=$(((2 + p - 1) / p)) "$glmc" train --dataset synthetic --width 16 --epochs 1 --batch-size 64 --quiet \
			--out "$work/p$p" --rank "$r" --world-size "$p" --master-addr 127.0.0.1 --master-port "$port" >/dev/null &
		pids+=($!)
	done
	wait "${pids[@]}"
	# Two views per sample: img_per_s counts both, so a step of 64 is 128 images.
	python3 -c 'import json,sys; r=json.loads(open(sys.argv[1]).readline()); print(json.dumps({"kind":"train_step","ranks":int(sys.argv[2]),"nf":16,"batch":64,"img_per_s":r["img_per_s"],"ms_per_step":round(128/r["img_per_s"]*1e3,1)}))' \
		"$work/p$p/metrics.jsonl" "$p"
done

# The cost model of one step on P nodes, each with the measured compute C
# of its batch of 64: T = C + 2(P−1)/P·S/B + k·2(P−1)·α, S the gradient
# bytes (4 × the floats glmc bench --what allreduce reduces), B and α the
# link's bandwidth and latency, k the all-reduces of a step (188 with
# synchronised batch norm: 3 per batch-norm layer and pass, and 2 without).
# C_16, C_64 (seconds) replace the measured compute, e.g. with an idle
# machine's figures when this one is shared.
python3 - "$work/compute.jsonl" <<'EOF'
import json, os, sys
floats = {16: 489637, 64: 7438165}  # resnet32 + GLMC heads, and the loss (glmc bench --what allreduce)
links = [("1 GbE", 117e6, 50e-6), ("10 GbE", 1.15e9, 25e-6)]
compute = {}
for line in open(sys.argv[1]):
    r = json.loads(line)
    compute[r["nf"]] = float(os.environ.get(f"C_{r['nf']}", r["sec_per_step"]))
print("| width | C (s) | nodes | link | all-reduce (s) | latency, sync BN / per-rank BN (s) | efficiency, sync BN / per-rank BN |")
print("|---|---|---|---|---|---|---|")
for w in sorted(compute):
    c, s = compute[w], 4 * floats[w]
    for p in (8, 64):
        for name, b, a in links:
            bw = 2 * (p - 1) / p * s / b
            lat_sync, lat_local = 188 * 2 * (p - 1) * a, 2 * 2 * (p - 1) * a
            print(f"| {w} | {c:.3f} | {p} | {name} | {bw:.3f} | {lat_sync:.3f} / {lat_local:.4f} | "
                  f"{c / (c + bw + lat_sync):.1%} / {c / (c + bw + lat_local):.1%} |")
EOF
