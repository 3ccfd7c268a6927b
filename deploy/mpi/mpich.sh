#!/usr/bin/env bash
# Data-parallel glmc training under MPICH's Hydra (mpiexec.hydra; Intel
# MPI's mpiexec works the same way), one rank per host of HOSTFILE (lines
# "host:1"). Arguments are glmc train's flags:
#
#   HOSTFILE=hosts NP=4 deploy/mpi/mpich.sh --dataset cifar10 --out runs/c10
#
# Hydra gives each process PMI_RANK and PMI_SIZE and a PMI-1 connection
# (PMI_FD): rank 0 listens on a free port and publishes host:port in the
# PMI key-value store, where the other ranks read it, so no address or
# port has to be agreed on. -genv MASTER_ADDR=... -genv MASTER_PORT=...
# fixes them instead (e.g. for a firewall).
set -euo pipefail

np=${NP:-2}
args=(-n "$np")
if [ -n "${HOSTFILE:-}" ]; then
	args+=(-f "$HOSTFILE" -ppn 1)
fi
exec mpiexec.hydra "${args[@]}" -genv GOMAXPROCS "${GOMAXPROCS:-$(nproc)}" "${GLMC:-glmc}" train "$@"
