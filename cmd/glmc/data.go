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
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/glmc/glmc/data"
	"github.com/glmc/glmc/glmc"
	"github.com/schollz/progressbar/v3"
)

// runData is `glmc data download|stats|verify`.
func runData(args []string, stdout io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return usageError{errors.New("want a sub-command: download, stats or verify")}
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("data "+sub, flag.ContinueOnError)
	dataset := fs.String("dataset", "", "dataset: "+strings.Join(data.Names(), ", ")+" (or the official ImageNet-LT, iNaturelist2018)")
	dir := fs.String("data-dir", "", `data folder: for imagenet-lt and inat2018 the root the list files' paths start from, for folder the one holding train/ and val/ (default: Debian's Fashion-MNIST folder for fashion-mnist when installed, else "data")`)
	fs.StringVar(dir, "root", "", "official spelling of --data-dir")
	var files data.FileOptions
	if sub != "download" {
		listFlags(fs, &files)
	}
	switch sub {
	case "download":
		format := fs.String("format", "binary", "archive to fetch: binary or python")
		mirror := fs.String("mirror", data.DefaultBaseURL, "base URL the archives are fetched from")
		if err := parseDataFlags(fs, args, dataset); err != nil {
			return err
		}
		return dataDownload(*dataset, *dir, data.DownloadOptions{BaseURL: *mirror, Format: *format}, stdout)
	case "stats":
		factor := fs.Float64("imbalance-factor", 100, "n_max / n_min of the long-tailed training split (folder: 1 uses it whole; the official lists are used as they are)")
		seed := fs.Uint64("seed", 3407, "seed of the split (numpy's, below 2^32)")
		asJSON := fs.Bool("json", false, "print one JSON object")
		if err := parseDataFlags(fs, args, dataset); err != nil {
			return err
		}
		if !(*factor >= 1) {
			return usageError{fmt.Errorf("--imbalance-factor %v: want a value ≥ 1", *factor)}
		}
		return dataStats(*dataset, *dir, files, *factor, *seed, *asJSON, stdout)
	case "verify":
		workers := fs.Int("workers", runtime.GOMAXPROCS(0), "goroutines decoding images")
		if err := parseDataFlags(fs, args, dataset); err != nil {
			return err
		}
		if *workers < 1 {
			return usageError{fmt.Errorf("--workers %d: want at least 1", *workers)}
		}
		return dataVerify(*dataset, *dir, files, *workers, stdout)
	}
	return usageError{fmt.Errorf("unknown sub-command %q: want download, stats or verify", sub)}
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

func dataStats(dataset, dir string, files data.FileOptions, factor float64, seed uint64, asJSON bool, stdout io.Writer) error {
	info, _ := data.Lookup(dataset) // parseDataFlags checked the name
	train, test, err := data.LoadLongTailedFiles(dataset, dir, files, factor, seed)
	if err != nil {
		return err
	}
	counts := train.ClassCounts()
	split := fmt.Sprintf("imbalance factor %g, seed %d", factor, seed)
	if info.Files && (info.Name != "folder" || factor == 1) {
		// Used as listed: report the imbalance the files have.
		factor = float64(slices.Max(counts)) / float64(max(slices.Min(counts), 1))
		split = fmt.Sprintf("as listed, n_max/n_min %d/%d", slices.Max(counts), slices.Min(counts))
	}
	rec := dataStatsJSON{info.Name, factor, counts, test.ClassCounts(), train.Classes}
	if asJSON {
		b, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(stdout, string(b))
		return err
	}
	fmt.Fprintf(stdout, "%s, %s: %d training images, %d test images\n", info.Name, split, train.Len(), test.Len())
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "class\tname\ttrain\ttest\tgroup")
	for c, name := range rec.Classes {
		fmt.Fprintf(tw, "%d\t%s\t%d\t%d\t%s\n", c, name, rec.TrainCounts[c], rec.TestCounts[c], glmc.ShotOf(rec.TrainCounts[c]))
	}
	return tw.Flush()
}

// dataVerify decodes every image file of both splits and lists those that
// fail; any failure is an error (a non-zero exit).
func dataVerify(dataset, dir string, files data.FileOptions, workers int, stdout io.Writer) error {
	info, _ := data.Lookup(dataset)
	if !info.Files {
		return usageError{fmt.Errorf("--dataset %s is not made of image files, there is nothing to verify: want imagenet-lt, inat2018 or folder", dataset)}
	}
	train, test, err := data.LoadFiles(dataset, dir, files)
	if err != nil {
		return err
	}
	total := train.Len() + test.Len()
	bad := checkImages([]*data.Dataset{train, test}, workers, stdout)
	nbad := len(bad[0]) + len(bad[1])
	if nbad > 0 {
		return fmt.Errorf("data verify: %s: %d of %d images could not be decoded (listed above)", info.Name, nbad, total)
	}
	fmt.Fprintf(stdout, "%s: all %d images decode (%d training, %d test)\n", info.Name, total, train.Len(), test.Len())
	return nil
}

// checkImages decodes every image file of the splits on workers
// goroutines, with a progress bar on a terminal, prints a line for each
// that fails and returns those of each split.
func checkImages(splits []*data.Dataset, workers int, stdout io.Writer) [][]data.BadImage {
	total := 0
	for _, d := range splits {
		total += d.Len()
	}
	var progress func()
	// The bar goes to standard error, and only on a terminal.
	if st, err := os.Stderr.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
		bar := progressbar.NewOptions(total, progressbar.OptionSetWriter(os.Stderr),
			progressbar.OptionSetDescription("decoding"), progressbar.OptionShowCount(), progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("img"), progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionClearOnFinish())
		progress = func() { bar.Add(1) }
		defer bar.Finish()
	}
	bad := make([][]data.BadImage, len(splits))
	for i, d := range splits {
		bad[i] = data.Verify(d, workers, progress)
		for _, b := range bad[i] {
			fmt.Fprintf(stdout, "bad: %v\n", b.Err)
		}
	}
	return bad
}

// skipBadImages is `glmc train --skip-bad-images`: the splits less the
// images that do not decode, each listed and their number printed.
func skipBadImages(train, test *data.Dataset, workers int, stdout io.Writer) (*data.Dataset, *data.Dataset, error) {
	if train.Files == nil {
		return nil, nil, usageError{fmt.Errorf("--skip-bad-images: %s is not made of image files", train.Name)}
	}
	bad := checkImages([]*data.Dataset{train, test}, workers, stdout)
	fmt.Fprintf(stdout, "glmc: left out %d of %d training and %d of %d test images that do not decode\n",
		len(bad[0]), train.Len(), len(bad[1]), test.Len())
	return train.Without(bad[0]), test.Without(bad[1]), nil
}

// listFlags defines the official flags of the list files of ImageNet-LT
// and iNaturalist 2018, which train, eval, data stats and data verify
// take alike.
func listFlags(fs *flag.FlagSet, files *data.FileOptions) {
	fs.StringVar(&files.TrainList, "dir_train_txt", "", "imagenet-lt, inat2018: the training list file (default: its official name under the root)")
	fs.StringVar(&files.TestList, "dir_test_txt", "", "imagenet-lt, inat2018: the test list file (default: its official name under the root)")
}
