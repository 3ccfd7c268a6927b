package dist

import (
	"strings"
	"testing"
)

// envOf turns "K=V K=V" into an env lookup.
func envOf(s string) func(string) string {
	m := map[string]string{}
	for _, kv := range strings.Fields(s) {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return func(k string) string { return m[k] }
}

// The environments below are the variables CLUSTERS.md records as observed
// (torchrun 1.13, Slurm 22.05 with two slurmd nodes, Open MPI 4.1, MPICH 4.0)
// or documented (Kubeflow, Kubernetes Indexed Job), trimmed to those that
// matter.
func TestDetect(t *testing.T) {
	for _, tc := range []struct {
		name  string
		env   string
		flags Flags
		want  Launch
	}{
		{"nothing", "HOME=/root", Flags{},
			Launch{Launcher: "single", WorldSize: 1, LocalSize: 1}},
		{"flags", "RANK=3 WORLD_SIZE=8 MASTER_ADDR=x MASTER_PORT=1", Flags{WorldSize: 4, Rank: 2, MasterAddr: "h0"},
			Launch{Launcher: "flags", Rank: 2, WorldSize: 4, LocalRank: -1, LocalSize: -1, Node: -1, Addr: "h0:29500"}},
		{"flags single process needs no address", "", Flags{WorldSize: 1},
			Launch{Launcher: "flags", WorldSize: 1, LocalRank: -1, LocalSize: -1, Node: -1}},
		{"flags ipv6", "", Flags{WorldSize: 2, Rank: 1, MasterAddr: "fd00::1", MasterPort: 7000},
			Launch{Launcher: "flags", Rank: 1, WorldSize: 2, LocalRank: -1, LocalSize: -1, Node: -1, Addr: "[fd00::1]:7000"}},
		{"torchrun agent store",
			"RANK=1 WORLD_SIZE=2 LOCAL_RANK=1 LOCAL_WORLD_SIZE=2 GROUP_RANK=0 GROUP_WORLD_SIZE=1 ROLE_RANK=1 " +
				"MASTER_ADDR=127.0.0.1 MASTER_PORT=29500 TORCHELASTIC_RUN_ID=none TORCHELASTIC_USE_AGENT_STORE=True " +
				"TORCHELASTIC_RESTART_COUNT=0 TORCHELASTIC_MAX_RESTARTS=0 OMP_NUM_THREADS=1", Flags{},
			Launch{Launcher: "torchrun", Rank: 1, WorldSize: 2, LocalRank: 1, LocalSize: 2, Node: 0, Addr: "127.0.0.1:29501", RunID: "none"}},
		{"torchrun port overridden", "RANK=0 WORLD_SIZE=2 MASTER_ADDR=h MASTER_PORT=29500 TORCHELASTIC_USE_AGENT_STORE=True",
			Flags{MasterPort: 4000},
			Launch{Launcher: "torchrun", WorldSize: 2, LocalSize: 1, Addr: "h:4000"}},
		{"pytorchjob v1 worker",
			"MASTER_ADDR=job-master-0 MASTER_PORT=23456 WORLD_SIZE=3 RANK=2 PET_NODE_RANK=2 PET_NNODES=3 " +
				"PET_NPROC_PER_NODE=1 PET_MASTER_ADDR=job-master-0 PET_MASTER_PORT=23456 PYTHONUNBUFFERED=1", Flags{},
			Launch{Launcher: "pytorchjob", Rank: 2, WorldSize: 3, LocalSize: 1, Node: 2, Addr: "job-master-0:23456"}},
		{"env by hand, address replaced by flag", "RANK=1 WORLD_SIZE=2 MASTER_ADDR=a MASTER_PORT=5000", Flags{MasterAddr: "b"},
			Launch{Launcher: "env", Rank: 1, WorldSize: 2, LocalSize: 1, Node: 1, Addr: "b:5000"}},
		{"kubeflow trainer v2",
			"PET_NNODES=4 PET_NPROC_PER_NODE=1 PET_NODE_RANK=3 PET_MASTER_ADDR=tj-node-0-0.tj PET_MASTER_PORT=29500", Flags{},
			Launch{Launcher: "kubeflow", Rank: 3, WorldSize: 4, LocalSize: 1, Node: 3, Addr: "tj-node-0-0.tj:29500"}},
		{"kubeflow two per node", "PET_NNODES=2 PET_NPROC_PER_NODE=2 PET_NODE_RANK=1 LOCAL_RANK=1 PET_MASTER_ADDR=m", Flags{},
			Launch{Launcher: "kubeflow", Rank: 3, WorldSize: 4, LocalRank: 1, LocalSize: 2, Node: 1, Addr: "m:29500"}},
		{"slurm srun 2 nodes x 2 tasks",
			"SLURM_JOB_ID=42 SLURM_STEP_ID=0 SLURM_PROCID=3 SLURM_NTASKS=4 SLURM_NPROCS=4 SLURM_LOCALID=1 SLURM_NODEID=1 " +
				"SLURM_STEP_NODELIST=n[1-2] SLURM_JOB_NODELIST=n[1-2] SLURM_STEP_NUM_NODES=2 SLURM_STEP_NUM_TASKS=4 " +
				"SLURM_STEP_TASKS_PER_NODE=2(x2) SLURM_TASKS_PER_NODE=2(x2) SLURMD_NODENAME=n2", Flags{},
			Launch{Launcher: "slurm", Rank: 3, WorldSize: 4, LocalRank: 1, LocalSize: 2, Node: 1, Addr: "n1:10042", RunID: "42.0"}},
		{"slurm job nodelist, uneven tasks, MASTER_PORT",
			"SLURM_JOB_ID=7 SLURM_STEP_ID=3 SLURM_PROCID=2 SLURM_NPROCS=3 SLURM_LOCALID=0 SLURM_NODEID=1 " +
				"SLURM_JOB_NODELIST=rack[2-3]-c[09-10] SLURM_TASKS_PER_NODE=2,1 MASTER_PORT=6000", Flags{},
			Launch{Launcher: "slurm", Rank: 2, WorldSize: 3, LocalRank: 0, LocalSize: 1, Node: 1, Addr: "rack2-c09:6000", RunID: "7.3"}},
		{"sbatch script outside srun is a single process", "SLURM_JOB_ID=7 SLURM_JOB_NODELIST=n[1-2] SLURM_NTASKS=4", Flags{},
			Launch{Launcher: "single", WorldSize: 1, LocalSize: 1}},
		{"mpich hydra",
			"PMI_RANK=1 PMI_SIZE=2 PMI_FD=6 MPI_LOCALRANKID=1 MPI_LOCALNRANKS=2 HYDI_CONTROL_FD=7 MASTER_ADDR=h0", Flags{},
			Launch{Launcher: "mpich", Rank: 1, WorldSize: 2, LocalRank: 1, LocalSize: 2, Node: -1, Addr: "h0:29500"}},
		{"mpich hydra, address through PMI",
			"PMI_RANK=0 PMI_SIZE=2 PMI_FD=6 MPI_LOCALRANKID=0 MPI_LOCALNRANKS=2 MPIR_CVAR_CH3_INTERFACE_HOSTNAME=h0", Flags{},
			Launch{Launcher: "mpich", WorldSize: 2, LocalRank: 0, LocalSize: 2, Node: -1, PMIFD: 6, pmiHost: "h0"}},
		{"mpich hydra, one process needs no PMI", "PMI_RANK=0 PMI_SIZE=1 PMI_FD=6", Flags{},
			Launch{Launcher: "mpich", WorldSize: 1, LocalRank: -1, LocalSize: -1, Node: -1}},
		{"open mpi",
			"OMPI_COMM_WORLD_SIZE=3 OMPI_COMM_WORLD_RANK=2 OMPI_COMM_WORLD_LOCAL_RANK=2 OMPI_COMM_WORLD_LOCAL_SIZE=3 " +
				"OMPI_UNIVERSE_SIZE=3 OMPI_COMM_WORLD_NODE_RANK=2 OMPI_MCA_ess_base_jobid=3412525057 PMIX_RANK=2 " +
				"MASTER_ADDR=10.0.0.1 MASTER_PORT=7000", Flags{},
			Launch{Launcher: "openmpi", Rank: 2, WorldSize: 3, LocalRank: 2, LocalSize: 3, Node: -1, Addr: "10.0.0.1:7000", RunID: "3412525057"}},
		{"kubernetes indexed job, service name", "JOB_COMPLETION_INDEX=2 WORLD_SIZE=4 HOSTNAME=train-2 GLMC_SERVICE=glmc", Flags{},
			Launch{Launcher: "kubernetes", Rank: 2, WorldSize: 4, LocalSize: 1, Node: 2, Addr: "train-0.glmc:29500", RunID: "train"}},
		{"kubernetes indexed job, MASTER_ADDR", "JOB_COMPLETION_INDEX=0 WORLD_SIZE=2 MASTER_ADDR=train-0.svc MASTER_PORT=80", Flags{},
			Launch{Launcher: "kubernetes", WorldSize: 2, LocalSize: 1, Addr: "train-0.svc:80"}},
	} {
		got, err := Detect(envOf(tc.env), tc.flags)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if got != tc.want {
			t.Errorf("%s:\n got %+v\nwant %+v", tc.name, got, tc.want)
		}
	}
}

func TestDetectErrors(t *testing.T) {
	for _, tc := range []struct {
		env   string
		flags Flags
		want  string
	}{
		{"", Flags{Rank: 2}, "dist: --rank 2 needs --world-size"},
		{"", Flags{WorldSize: -1}, "dist: flags: --world-size=-1 must be at least 1"},
		{"", Flags{WorldSize: 2, Rank: 2, MasterAddr: "h"}, "dist: flags: --rank=2 is not in 0..1 (--world-size=2)"},
		{"", Flags{WorldSize: 2}, "dist: flags: no rank-0 host: set --master-addr"},
		{"", Flags{WorldSize: 2, MasterAddr: "h", MasterPort: 70000}, "dist: flags: port 70000 (from --master-port) is not in 1..65535"},
		{"RANK=4 WORLD_SIZE=4 MASTER_ADDR=h MASTER_PORT=1", Flags{}, "dist: env: RANK=4 is not in 0..3 (WORLD_SIZE=4)"},
		{"RANK=4 WORLD_SIZE=4", Flags{}, "dist: env: RANK=4 is not in 0..3 (WORLD_SIZE=4)"},
		{"OMPI_COMM_WORLD_RANK=-1 OMPI_COMM_WORLD_SIZE=2 MASTER_ADDR=h", Flags{}, "dist: openmpi: OMPI_COMM_WORLD_RANK=-1 is not in 0..1"},
		{"RANK=one WORLD_SIZE=4", Flags{}, `dist: env: RANK="one" is not an integer`},
		{"RANK=1 WORLD_SIZE=2 MASTER_PORT=1", Flags{}, "dist: env: MASTER_ADDR is not set: it must name the host of rank 0"},
		{"RANK=1 WORLD_SIZE=2 LOCAL_RANK=2 LOCAL_WORLD_SIZE=2 MASTER_ADDR=h", Flags{}, "dist: env: LOCAL_RANK=2 is not below the local size 2"},
		{"RANK=1 WORLD_SIZE=2 MASTER_ADDR=h MASTER_PORT=65535 TORCHELASTIC_USE_AGENT_STORE=True", Flags{},
			"dist: torchrun: port 65536 (from MASTER_PORT+1, as torchrun's agent store holds MASTER_PORT) is not in 1..65535"},
		{"PET_NNODES=1:4 PET_NODE_RANK=0 PET_MASTER_ADDR=m", Flags{}, `dist: kubeflow: PET_NNODES="1:4" is not an integer`},
		{"PET_NNODES=2 PET_NODE_RANK=0 PET_NPROC_PER_NODE=4 PET_MASTER_ADDR=m", Flags{},
			"dist: kubeflow: PET_NPROC_PER_NODE=4 needs LOCAL_RANK: start glmc through torchrun, or set it to 1"},
		{"PET_NNODES=2 PET_NODE_RANK=2 PET_MASTER_ADDR=m", Flags{}, "dist: kubeflow: PET_NODE_RANK=2 is not in 0..1 (PET_NNODES=2)"},
		{"SLURM_STEP_ID=0 SLURM_PROCID=0 SLURM_NTASKS=2 SLURM_LOCALID=0 SLURM_NODEID=0 SLURM_STEP_NODELIST=n[1-", Flags{},
			`dist: slurm: SLURM_STEP_NODELIST="n[1-": "n[1-": '[' without matching ']'`},
		{"SLURM_STEP_ID=0 SLURM_PROCID=0 SLURM_NTASKS=2 SLURM_LOCALID=0 SLURM_NODEID=0", Flags{},
			"dist: slurm: SLURM_JOB_NODELIST is not set: it must name the host of rank 0"},
		{"SLURM_STEP_ID=0 SLURM_PROCID=0 SLURM_NTASKS=2 SLURM_LOCALID=0 SLURM_NODEID=2 SLURM_STEP_TASKS_PER_NODE=1(x2) SLURM_STEP_NODELIST=n1", Flags{},
			`dist: slurm: SLURM_NODEID=2 has no entry in SLURM_STEP_TASKS_PER_NODE="1(x2)"`},
		{"SLURM_STEP_ID=0 SLURM_PROCID=0 SLURM_LOCALID=0 SLURM_NODEID=0 SLURM_STEP_NODELIST=n1", Flags{},
			"dist: slurm: SLURM_NTASKS is not set"},
		{"PMI_RANK=0 PMI_SIZE=2", Flags{}, "dist: mpich: MASTER_ADDR is not set: it must name the host of rank 0"},
		{"PMI_RANK=0 PMI_SIZE=2 PMI_FD=1", Flags{}, "dist: mpich: PMI_FD=1 is not an inherited socket (3 or above)"},
		{"OMPI_COMM_WORLD_RANK=0 OMPI_COMM_WORLD_SIZE=2", Flags{}, "dist: openmpi: MASTER_ADDR is not set: it must name the host of rank 0"},
		{"OMPI_COMM_WORLD_RANK=0 OMPI_COMM_WORLD_SIZE=0", Flags{}, "dist: openmpi: OMPI_COMM_WORLD_SIZE=0 must be at least 1"},
		{"JOB_COMPLETION_INDEX=1", Flags{}, "dist: kubernetes: JOB_COMPLETION_INDEX is set but WORLD_SIZE is not"},
		{"JOB_COMPLETION_INDEX=1 WORLD_SIZE=2", Flags{}, "dist: kubernetes: MASTER_ADDR (or GLMC_SERVICE) is not set"},
		{"JOB_COMPLETION_INDEX=1 WORLD_SIZE=2 HOSTNAME=train-3 GLMC_SERVICE=s", Flags{},
			`dist: kubernetes: HOSTNAME="train-3" does not end in "-1": set MASTER_ADDR to <job>-0.<service>`},
	} {
		_, err := Detect(envOf(tc.env), tc.flags)
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("Detect(%q, %+v) error = %v\nwant one line starting %q", tc.env, tc.flags, err, tc.want)
		}
	}
}

func TestLaunchString(t *testing.T) {
	for _, tc := range []struct {
		l    Launch
		want string
	}{
		{Launch{Launcher: "slurm", Rank: 3, WorldSize: 4, LocalRank: 1, LocalSize: 2, Node: 1, Addr: "n1:13421"},
			"slurm: rank 3 of 4, local 1 of 2, node 1, rendezvous n1:13421"},
		{Launch{Launcher: "single", WorldSize: 1, LocalSize: 1}, "single: rank 0 of 1, local 0 of 1, node 0"},
		{Launch{Launcher: "openmpi", Rank: 1, WorldSize: 2, LocalRank: -1, LocalSize: -1, Node: -1, Addr: "h:1"},
			"openmpi: rank 1 of 2, local ? of ?, node ?, rendezvous h:1"},
		{Launch{Launcher: "mpich", Rank: 1, WorldSize: 2, LocalRank: 1, LocalSize: 2, Node: -1, PMIFD: 6},
			"mpich: rank 1 of 2, local 1 of 2, node ?, rendezvous published through PMI_FD=6"},
	} {
		if got := tc.l.String(); got != tc.want {
			t.Errorf("String() = %q, want %q", got, tc.want)
		}
	}
}
