package dist

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// DefaultPort is the rendezvous port when nothing names one (explicit flags
// without --master-port, Open MPI, MPICH, Kubernetes without MASTER_PORT):
// torchrun's default, so firewall rules written for PyTorch jobs fit.
const DefaultPort = 29500

// Flags are the command-line settings that take precedence over every
// launcher's environment.
type Flags struct {
	// WorldSize (--world-size) greater than 0 selects the explicit launch
	// and ignores the environment; 0 detects a launcher.
	WorldSize int
	// Rank (--rank) is this process's rank; only valid with WorldSize.
	Rank int
	// MasterAddr (--master-addr) is the host of rank 0. With a detected
	// launcher it replaces the host that launcher gives.
	MasterAddr string
	// MasterPort (--master-port) is the rendezvous port, 0 for the
	// launcher's or DefaultPort. With a detected launcher it replaces the
	// port that launcher gives (e.g. torchrun's MASTER_PORT+1).
	MasterPort int
}

// Launch is what the launcher says about this process: who it is in the
// group and where rank 0 listens.
type Launch struct {
	// Launcher names the source: "flags", "torchrun", "pytorchjob", "env"
	// (MASTER_ADDR and friends set by hand), "kubeflow", "slurm", "mpich",
	// "openmpi", "kubernetes", or "single" when nothing was detected.
	Launcher string
	// Rank is this process's global rank, 0 ≤ Rank < WorldSize.
	Rank int
	// WorldSize is the number of processes in the group.
	WorldSize int
	// LocalRank and LocalSize place the process among those on its node;
	// both are -1 when the launcher does not say.
	LocalRank, LocalSize int
	// Node is the index of this process's node (or pod), -1 when the
	// launcher does not say.
	Node int
	// Addr is host:port where rank 0 listens for the rendezvous; empty for
	// a single process.
	Addr string
	// PMIFD is the inherited PMI-1 socket (MPICH/Hydra's PMI_FD) when
	// rank 0 publishes its address there instead of taking it from
	// MASTER_ADDR; Addr is then empty and rank 0 listens on an ephemeral
	// port. 0 otherwise.
	PMIFD int
	// pmiHost is the name under which Hydra reached this host
	// (MPIR_CVAR_CH3_INTERFACE_HOSTNAME), which rank 0 publishes with its
	// port: the other hosts know it by that name.
	pmiHost string
	// RunID identifies the job when the launcher gives an id (torchrun's
	// run id, Slurm's job.step, Open MPI's job id), else empty. Passing it
	// on in Config lets rank 0 turn away processes of another job that
	// reach the same port.
	RunID string
}

// String is the start-up log line, e.g.
// "slurm: rank 3 of 4, local 1 of 2, node 1, rendezvous n1:13421".
func (l Launch) String() string {
	unknown := func(v int) string {
		if v < 0 {
			return "?"
		}
		return strconv.Itoa(v)
	}
	s := fmt.Sprintf("%s: rank %d of %d, local %s of %s, node %s", l.Launcher, l.Rank, l.WorldSize,
		unknown(l.LocalRank), unknown(l.LocalSize), unknown(l.Node))
	switch {
	case l.Addr != "":
		s += ", rendezvous " + l.Addr
	case l.PMIFD > 0:
		s += fmt.Sprintf(", rendezvous published through PMI_FD=%d", l.PMIFD)
	}
	return s
}

// Detect works out the launch from explicit flags or, when
// flags.WorldSize is 0, from the environment (env is os.Getenv in
// programs, a map lookup in tests). The first match wins, in this order:
//
//   - flags: --world-size, --rank, --master-addr, --master-port;
//   - torchrun and PyTorch's env:// (RANK, WORLD_SIZE, LOCAL_RANK,
//     LOCAL_WORLD_SIZE, GROUP_RANK, MASTER_ADDR, MASTER_PORT). Under
//     torchrun's agent store (TORCHELASTIC_USE_AGENT_STORE=True) the agent
//     already listens on MASTER_PORT, so rank 0 listens on MASTER_PORT+1;
//     --master-port overrides;
//   - Kubeflow Trainer (PET_NODE_RANK, PET_NNODES, PET_NPROC_PER_NODE,
//     PET_MASTER_ADDR, PET_MASTER_PORT);
//   - Slurm inside srun (SLURM_STEP_ID, SLURM_PROCID, SLURM_NTASKS,
//     SLURM_LOCALID, SLURM_NODEID, SLURM_STEP_TASKS_PER_NODE); rank 0's
//     host is the first of SLURM_STEP_NODELIST (else SLURM_JOB_NODELIST)
//     unless MASTER_ADDR is set, and the port is MASTER_PORT or
//     10000 + SLURM_JOB_ID mod 20000, so jobs sharing a node differ and
//     stay below Linux's ephemeral ports;
//   - MPICH/Hydra and Intel MPI (PMI_RANK, PMI_SIZE, MPI_LOCALRANKID,
//     MPI_LOCALNRANKS); rank 0's address is MASTER_ADDR if -genv passes
//     it, else rank 0 publishes it in the PMI-1 key-value store on PMI_FD;
//   - Open MPI (OMPI_COMM_WORLD_RANK, _SIZE, _LOCAL_RANK, _LOCAL_SIZE),
//     with MASTER_ADDR passed by mpirun -x;
//   - Kubernetes Indexed Job (JOB_COMPLETION_INDEX, WORLD_SIZE from the
//     manifest); rank 0's host is MASTER_ADDR, or <job>-0.<GLMC_SERVICE>
//     with <job> taken from HOSTNAME (<job>-<index>) and GLMC_SERVICE the
//     headless Service named in the pod's subdomain;
//   - otherwise a single process.
//
// Missing, non-numeric or inconsistent values give a one-line error naming
// the variable.
func Detect(env func(string) string, flags Flags) (Launch, error) {
	v := &vars{get: env}
	var d detected
	switch {
	case flags.WorldSize != 0:
		d = fromFlags(flags)
	case flags.Rank != 0:
		return Launch{}, fmt.Errorf("dist: --rank %d needs --world-size", flags.Rank)
	default:
		d = fromEnv(v)
	}
	if v.err != nil {
		return Launch{}, v.err
	}
	if err := d.check(); err != nil {
		return Launch{}, fmt.Errorf("dist: %s: %w", d.Launcher, err)
	}
	if d.WorldSize > 1 {
		if flags.MasterAddr != "" {
			d.host, d.hostVar = flags.MasterAddr, ""
		}
		if flags.MasterPort != 0 {
			d.port, d.portVar = flags.MasterPort, "--master-port"
		}
		if d.host != "" {
			d.PMIFD, d.pmiHost = 0, ""
		}
		if d.host == "" && d.PMIFD == 0 {
			if d.hostVar == "" {
				return Launch{}, fmt.Errorf("dist: %s: no rank-0 host: set --master-addr", d.Launcher)
			}
			return Launch{}, fmt.Errorf("dist: %s: %s is not set: it must name the host of rank 0", d.Launcher, d.hostVar)
		}
		if d.port < 1 || d.port > 65535 {
			return Launch{}, fmt.Errorf("dist: %s: port %d (from %s) is not in 1..65535", d.Launcher, d.port, d.portVar)
		}
		if d.PMIFD == 0 {
			d.Addr = net.JoinHostPort(d.host, strconv.Itoa(d.port))
		}
	} else {
		d.PMIFD, d.pmiHost = 0, "" // a single process meets nobody
	}
	return d.Launch, nil
}

// detected is a Launch with the names of the variables its values came
// from, so errors can name them.
type detected struct {
	Launch
	rankVar, worldVar, localVar string
	host, hostVar               string
	port                        int
	portVar                     string
}

func (d *detected) check() error {
	switch {
	case d.WorldSize < 1:
		return fmt.Errorf("%s=%d must be at least 1", d.worldVar, d.WorldSize)
	case d.Rank < 0 || d.Rank >= d.WorldSize:
		return fmt.Errorf("%s=%d is not in 0..%d (%s=%d)", d.rankVar, d.Rank, d.WorldSize-1, d.worldVar, d.WorldSize)
	case d.LocalSize >= 0 && (d.LocalRank < 0 || d.LocalRank >= d.LocalSize):
		return fmt.Errorf("%s=%d is not below the local size %d", d.localVar, d.LocalRank, d.LocalSize)
	}
	return nil
}

func fromFlags(f Flags) detected {
	return detected{
		Launch:  Launch{Launcher: "flags", Rank: f.Rank, WorldSize: f.WorldSize, LocalRank: -1, LocalSize: -1, Node: -1},
		rankVar: "--rank", worldVar: "--world-size",
		host: f.MasterAddr, port: DefaultPort, portVar: "the default",
	}
}

// fromEnv tries the launchers in Detect's order.
func fromEnv(v *vars) detected {
	switch {
	case v.has("RANK") && v.has("WORLD_SIZE"):
		return fromTorch(v)
	case v.has("PET_NODE_RANK") && v.has("PET_NNODES"):
		return fromKubeflow(v)
	case v.has("SLURM_STEP_ID") && v.has("SLURM_PROCID"):
		return fromSlurm(v)
	case v.has("PMI_RANK") && v.has("PMI_SIZE"):
		d := fromRankVars(v, "mpich", "PMI_RANK", "PMI_SIZE", "MPI_LOCALRANKID", "MPI_LOCALNRANKS", "PMI_JOBID")
		if v.has("PMI_FD") {
			if d.PMIFD = v.num("PMI_FD"); d.PMIFD < 3 {
				v.fail("PMI_FD=%d is not an inherited socket (3 or above)", d.PMIFD)
			}
			d.hostVar = "MASTER_ADDR (or PMI_FD)"
			d.pmiHost = v.str("MPIR_CVAR_CH3_INTERFACE_HOSTNAME")
		}
		return d
	case v.has("OMPI_COMM_WORLD_RANK") && v.has("OMPI_COMM_WORLD_SIZE"):
		return fromRankVars(v, "openmpi", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE",
			"OMPI_COMM_WORLD_LOCAL_RANK", "OMPI_COMM_WORLD_LOCAL_SIZE", "OMPI_MCA_ess_base_jobid")
	case v.has("JOB_COMPLETION_INDEX"):
		return fromKubernetes(v)
	}
	return detected{Launch: Launch{Launcher: "single", WorldSize: 1, LocalRank: 0, LocalSize: 1, Node: 0},
		rankVar: "rank", worldVar: "world size"}
}

func fromTorch(v *vars) detected {
	d := detected{rankVar: "RANK", worldVar: "WORLD_SIZE", localVar: "LOCAL_RANK", hostVar: "MASTER_ADDR", portVar: "MASTER_PORT"}
	d.Launcher = "env"
	switch {
	case v.has("TORCHELASTIC_RUN_ID") || v.has("TORCHELASTIC_USE_AGENT_STORE"):
		d.Launcher = "torchrun"
	case v.has("PET_NNODES"):
		d.Launcher = "pytorchjob"
	}
	v.launcher = d.Launcher
	d.Rank, d.WorldSize = v.num("RANK"), v.num("WORLD_SIZE")
	d.LocalRank, d.LocalSize = v.numOr("LOCAL_RANK", 0), v.numOr("LOCAL_WORLD_SIZE", 1)
	d.Node = v.numOr("GROUP_RANK", d.Rank)
	d.RunID = v.str("TORCHELASTIC_RUN_ID")
	d.host = v.str("MASTER_ADDR")
	d.port = v.numOr("MASTER_PORT", DefaultPort)
	if v.str("TORCHELASTIC_USE_AGENT_STORE") == "True" {
		d.port++
		d.portVar = "MASTER_PORT+1, as torchrun's agent store holds MASTER_PORT"
	}
	return d
}

func fromKubeflow(v *vars) detected {
	d := detected{rankVar: "PET_NODE_RANK", worldVar: "PET_NNODES", localVar: "LOCAL_RANK",
		hostVar: "PET_MASTER_ADDR", portVar: "PET_MASTER_PORT"}
	d.Launcher, v.launcher = "kubeflow", "kubeflow"
	node, nodes := v.num("PET_NODE_RANK"), v.num("PET_NNODES")
	perNode := v.numOr("PET_NPROC_PER_NODE", 1)
	if perNode > 1 && !v.has("LOCAL_RANK") {
		v.fail("PET_NPROC_PER_NODE=%d needs LOCAL_RANK: start glmc through torchrun, or set it to 1", perNode)
	}
	d.LocalRank, d.LocalSize, d.Node = v.numOr("LOCAL_RANK", 0), perNode, node
	if node < 0 || node >= nodes {
		v.fail("PET_NODE_RANK=%d is not in 0..%d (PET_NNODES=%d)", node, nodes-1, nodes)
	}
	d.Rank, d.WorldSize = node*perNode+d.LocalRank, nodes*perNode
	d.host, d.port = v.str("PET_MASTER_ADDR"), v.numOr("PET_MASTER_PORT", DefaultPort)
	return d
}

func fromSlurm(v *vars) detected {
	d := detected{rankVar: "SLURM_PROCID", worldVar: "SLURM_NTASKS", localVar: "SLURM_LOCALID", hostVar: "MASTER_ADDR", portVar: "MASTER_PORT"}
	d.Launcher, v.launcher = "slurm", "slurm"
	if !v.has("SLURM_NTASKS") && v.has("SLURM_NPROCS") {
		d.worldVar = "SLURM_NPROCS"
	}
	d.Rank, d.WorldSize = v.num("SLURM_PROCID"), v.num(d.worldVar)
	d.LocalRank, d.Node = v.num("SLURM_LOCALID"), v.num("SLURM_NODEID")
	d.LocalSize = -1
	for _, name := range []string{"SLURM_STEP_TASKS_PER_NODE", "SLURM_TASKS_PER_NODE"} {
		if !v.has(name) {
			continue
		}
		counts, err := expandTasksPerNode(v.str(name))
		switch {
		case err != nil:
			v.fail("%s: %v", name, err)
		case d.Node < 0 || d.Node >= len(counts):
			v.fail("SLURM_NODEID=%d has no entry in %s=%q", d.Node, name, v.str(name))
		default:
			d.LocalSize = counts[d.Node]
		}
		break
	}
	d.host = v.str("MASTER_ADDR")
	if d.host == "" {
		d.hostVar = "SLURM_STEP_NODELIST"
		if !v.has(d.hostVar) {
			d.hostVar = "SLURM_JOB_NODELIST"
		}
		if list := v.str(d.hostVar); list != "" {
			hosts, err := expandHostlist(list)
			if err != nil {
				v.fail("%s=%q: %v", d.hostVar, list, err)
			} else {
				d.host = hosts[0]
			}
		}
	}
	d.port = DefaultPort
	switch {
	case v.has("MASTER_PORT"):
		d.port = v.num("MASTER_PORT")
	case v.has("SLURM_JOB_ID"):
		d.port, d.portVar = 10000+v.num("SLURM_JOB_ID")%20000, "SLURM_JOB_ID"
	}
	if v.has("SLURM_JOB_ID") {
		d.RunID = v.str("SLURM_JOB_ID") + "." + v.str("SLURM_STEP_ID")
	}
	return d
}

// fromRankVars reads the MPI launchers, which name rank and size but not
// rank 0's host.
func fromRankVars(v *vars, launcher, rank, size, localRank, localSize, runID string) detected {
	d := detected{rankVar: rank, worldVar: size, localVar: localRank, hostVar: "MASTER_ADDR", portVar: "MASTER_PORT"}
	d.Launcher, v.launcher = launcher, launcher
	d.Rank, d.WorldSize = v.num(rank), v.num(size)
	d.LocalRank, d.LocalSize, d.Node = v.numOr(localRank, -1), v.numOr(localSize, -1), -1
	d.RunID = v.str(runID)
	d.host, d.port = v.str("MASTER_ADDR"), v.numOr("MASTER_PORT", DefaultPort)
	return d
}

func fromKubernetes(v *vars) detected {
	d := detected{rankVar: "JOB_COMPLETION_INDEX", worldVar: "WORLD_SIZE", hostVar: "MASTER_ADDR (or GLMC_SERVICE)", portVar: "MASTER_PORT"}
	d.Launcher, v.launcher = "kubernetes", "kubernetes"
	d.Rank, d.LocalRank, d.LocalSize = v.num("JOB_COMPLETION_INDEX"), 0, 1
	d.Node = d.Rank
	if !v.has("WORLD_SIZE") {
		v.fail("JOB_COMPLETION_INDEX is set but WORLD_SIZE is not: set it to the Job's completions in the manifest")
	}
	d.WorldSize = v.num("WORLD_SIZE")
	d.host, d.port = v.str("MASTER_ADDR"), v.numOr("MASTER_PORT", DefaultPort)
	if d.host == "" && v.has("GLMC_SERVICE") {
		suffix := "-" + v.str("JOB_COMPLETION_INDEX")
		job, ok := strings.CutSuffix(v.str("HOSTNAME"), suffix)
		if !ok || job == "" {
			v.fail("HOSTNAME=%q does not end in %q: set MASTER_ADDR to <job>-0.<service>", v.str("HOSTNAME"), suffix)
		}
		d.host, d.hostVar = job+"-0."+v.str("GLMC_SERVICE"), "HOSTNAME"
		d.RunID = job
	}
	return d
}

// vars reads environment variables and keeps the first error, so the
// launcher readers stay linear.
type vars struct {
	get      func(string) string
	launcher string
	err      error
}

func (v *vars) has(name string) bool { return v.get(name) != "" }

func (v *vars) str(name string) string { return strings.TrimSpace(v.get(name)) }

func (v *vars) fail(format string, args ...any) {
	if v.err == nil {
		v.err = fmt.Errorf("dist: %s: "+format, append([]any{v.launcher}, args...)...)
	}
}

// num reads a required integer.
func (v *vars) num(name string) int {
	s := v.str(name)
	if s == "" {
		v.fail("%s is not set", name)
		return 0
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		v.fail("%s=%q is not an integer", name, s)
	}
	return n
}

// numOr reads an optional integer.
func (v *vars) numOr(name string, def int) int {
	if !v.has(name) {
		return def
	}
	return v.num(name)
}
