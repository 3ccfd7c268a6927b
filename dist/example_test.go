package dist_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"sync"

	"github.com/glmc/glmc/dist"
)

// A process started by `srun -N2 -n4` finds its place from Slurm's
// variables.
func ExampleDetect() {
	env := map[string]string{
		"SLURM_JOB_ID": "4242", "SLURM_STEP_ID": "0", "SLURM_PROCID": "3", "SLURM_NTASKS": "4",
		"SLURM_LOCALID": "1", "SLURM_NODEID": "1", "SLURM_STEP_NODELIST": "node[07-08]",
		"SLURM_STEP_TASKS_PER_NODE": "2(x2)",
	}
	launch, err := dist.Detect(func(k string) string { return env[k] }, dist.Flags{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(launch)
	// Output: slurm: rank 3 of 4, local 1 of 2, node 1, rendezvous node07:14242
}

// Three ranks (goroutines here, processes on a cluster) sum their
// gradients; every rank ends with the same sums.
func ExampleGroup_AllReduceSum() {
	ln, err := net.Listen("tcp", "127.0.0.1:0") // rank 0's port; a cluster uses Launch.Addr
	if err != nil {
		fmt.Println(err)
		return
	}
	const world = 3
	sums := make([][]float32, world)
	var wg sync.WaitGroup
	for rank := range world {
		wg.Go(func() {
			cfg := dist.Config{Rank: rank, WorldSize: world, Addr: ln.Addr().String(), Fingerprint: []byte("resnet32")}
			if rank == 0 {
				cfg.Listener = ln
			}
			g, err := dist.Join(context.Background(), cfg)
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				return
			}
			defer g.Close()
			grad := []float32{float32(rank), 1, 10 * float32(rank)}
			if err := g.AllReduceSum(grad); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return
			}
			sums[rank] = grad
		})
	}
	wg.Wait()
	fmt.Println(sums)
	// Output: [[3 3 30] [3 3 30] [3 3 30]]
}
