#!/usr/bin/env bash
# Data-parallel glmc training under Open MPI's mpirun, one rank per host of
# HOSTFILE (lines "host slots=1"). Arguments are glmc train's flags:
#
#   HOSTFILE=hosts NP=4 deploy/mpi/openmpi.sh --dataset cifar10 --out runs/c10
#
# Open MPI gives each process its rank (OMPI_COMM_WORLD_RANK and _SIZE) but
# not the address of rank 0, so MASTER_ADDR (the first host of HOSTFILE
# unless set) and MASTER_PORT are passed to every rank with -x. On one
# machine (no HOSTFILE): NP=2 deploy/mpi/openmpi.sh ... with --oversubscribe
# added when NP exceeds the cores.
set -euo pipefail

np=${NP:-2}
args=(-np "$np" --map-by node)
if [ -n "${HOSTFILE:-}" ]; then
	args+=(--hostfile "$HOSTFILE")
	: "${MASTER_ADDR:=$(awk 'NF && $1 !~ /^#/ {print $1; exit}' "$HOSTFILE")}"
fi
export MASTER_ADDR=${MASTER_ADDR:-127.0.0.1} MASTER_PORT=${MASTER_PORT:-29500}
export GOMAXPROCS=${GOMAXPROCS:-$(nproc)}
exec mpirun "${args[@]}" -x MASTER_ADDR -x MASTER_PORT -x GOMAXPROCS "${GLMC:-glmc}" train "$@"
