package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"text/tabwriter"

	"github.com/glmc/glmc/data"
	"github.com/glmc/glmc/glmc"
)

// runData is `glmc data download|stats`.
func runData(args []string, stdout io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return usageError{errors.New("want a sub-command: download or stats")}
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("data "+sub, flag.ContinueOnError)
	dataset := fs.String("dataset", "", "dataset: "+strings.Join(data.Names(), ", "))
	dir := fs.String("data-dir", "", `data folder (default: Debian's Fashion-MNIST folder for fashion-mnist when installed, else "data")`)
	switch sub {
	case "download":
		format := fs.String("format", "binary", "archive to fetch: binary or python")
		mirror := fs.String("mirror", data.DefaultBaseURL, "base URL the archives are fetched from")
		if err := parseDataFlags(fs, args, dataset); err != nil {
			return err
		}
		return dataDownload(*dataset, *dir, data.DownloadOptions{BaseURL: *mirror, Format: *format}, stdout)
	case "stats":
		factor := fs.Float64("imbalance-factor", 100, "n_max / n_min of the long-tailed training split")
		seed := fs.Uint64("seed", 3407, "seed of the split (numpy's, below 2^32)")
		asJSON := fs.Bool("json", false, "print one JSON object")
		if err := parseDataFlags(fs, args, dataset); err != nil {
			return err
		}
		if !(*factor >= 1) {
			return usageError{fmt.Errorf("--imbalance-factor %v: want a value ≥ 1", *factor)}
		}
		return dataStats(*dataset, *dir, *factor, *seed, *asJSON, stdout)
	}
	return usageError{fmt.Errorf("unknown sub-command %q: want download or stats", sub)}
}

// parseDataFlags parses and checks --dataset, which every sub-command needs.
func parseDataFlags(fs *flag.FlagSet, args []string, dataset *string) error {
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *dataset == "" {
		return usageError{fmt.Errorf("--dataset is required: want one of %s", strings.Join(data.Names(), ", "))}
	}
	if _, err := data.Lookup(*dataset); err != nil {
		return usageError{err}
	}
	return nil
}

func dataDownload(dataset, dir string, opt data.DownloadOptions, stdout io.Writer) error {
	if dir == "" {
		dir = data.DefaultDir(dataset)
	}
	// The bar goes to standard error, and only on a terminal: redirected
	// output stays free of carriage-return noise.
	if st, err := os.Stderr.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
		opt.Progress = os.Stderr
	}
	// Ctrl-C cancels the transfer, so the temporary file is removed.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	folder, err := data.Download(ctx, dataset, dir, opt)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: ready in %s\n", dataset, folder)
	return nil
}

// dataStatsJSON is the stable `data stats --json` record (docs/formats.md).
type dataStatsJSON struct {
	Dataset         string   `json:"dataset"`
	ImbalanceFactor float64  `json:"imbalance_factor"`
	TrainCounts     []int    `json:"train_counts"`
	TestCounts      []int    `json:"test_counts"`
	Classes         []string `json:"classes"`
}

func dataStats(dataset, dir string, factor float64, seed uint64, asJSON bool, stdout io.Writer) error {
	train, test, err := data.LoadLongTailed(dataset, dir, factor, seed)
	if err != nil {
		return err
	}
	rec := dataStatsJSON{dataset, factor, train.ClassCounts(), test.ClassCounts(), train.Classes}
	if asJSON {
		b, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(stdout, string(b))
		return err
	}
	fmt.Fprintf(stdout, "%s, imbalance factor %g, seed %d: %d training images, %d test images\n",
		dataset, factor, seed, train.Len(), test.Len())
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "class\tname\ttrain\ttest\tgroup")
	for c, name := range rec.Classes {
		fmt.Fprintf(tw, "%d\t%s\t%d\t%d\t%s\n", c, name, rec.TrainCounts[c], rec.TestCounts[c], glmc.ShotOf(rec.TrainCounts[c]))
	}
	return tw.Flush()
}
