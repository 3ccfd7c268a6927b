// Package disttest forms data-parallel groups of goroutines over loopback
// for the tests of the packages that use dist.
package disttest

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/glmc/glmc/dist"
)

// Join forms a group of p ranks on 127.0.0.1 and closes it when the test
// ends. The timeouts leave room for a loaded machine: every rank of a
// test shares its cores.
func Join(t testing.TB, p int) []*dist.Group {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	groups := make([]*dist.Group, p)
	errs := OnEach(p, func(r int) error {
		cfg := dist.Config{Rank: r, WorldSize: p, Addr: ln.Addr().String(), RunID: t.Name(),
			JoinTimeout: 20 * time.Second, Timeout: time.Minute}
		if r == 0 {
			cfg.Listener = ln
		}
		var err error
		groups[r], err = dist.Join(context.Background(), cfg)
		return err
	})
	t.Cleanup(func() {
		for _, g := range groups {
			if g != nil {
				g.Close()
			}
		}
	})
	for r, err := range errs {
		if err != nil {
			t.Fatalf("rank %d: %v", r, err)
		}
	}
	return groups
}

// OnEach runs f for ranks 0..p−1 at once and returns each rank's error.
func OnEach(p int, f func(r int) error) []error {
	errs := make([]error, p)
	var wg sync.WaitGroup
	for r := range p {
		wg.Go(func() { errs[r] = f(r) })
	}
	wg.Wait()
	return errs
}
