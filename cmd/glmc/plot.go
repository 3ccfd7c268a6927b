package main

import (
	"bufio"
	"cmp"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/glmc/glmc/data"
	"github.com/glmc/glmc/glmc"
	"github.com/glmc/glmc/internal/atomicfile"
	"github.com/glmc/glmc/report"
)

// The plots `glmc plot` can draw, by their --plots names and file names.
const (
	plotCurves    = "curves"
	plotPerClass  = "per_class"
	plotConfusion = "confusion"
)

// plotRequest is a parsed `glmc plot` command line.
type plotRequest struct {
	dirs       []string // run folders
	out        string
	image      report.Image
	plots      map[string]bool
	dataDir    string // for the evaluation behind the confusion matrix and CIFAR's class names
	classNames string // file of class names, one a line; "" for the dataset's
	workers    int
}

// runPlot is `glmc plot`: it draws the curves of every run folder in one
// image, and each run's per-class accuracy and confusion matrix. The
// confusion matrix comes from evaluating the run's best checkpoint on the
// test split, so it needs the data. Whatever cannot be drawn is named on
// a "note:" line and the rest is drawn, a run's own plots included: it
// fails only when no folder has anything to plot or the curves cannot be
// written.
func runPlot(args []string, stdout io.Writer) error {
	req, err := parsePlot(args)
	if err != nil {
		return err
	}
	// Notes drop the package prefixes that a one-line error needs.
	unprefix := strings.NewReplacer("plot: ", "", "report: ", "")
	note := func(msg string) { fmt.Fprintln(stdout, "note:", unprefix.Replace(msg)) }
	var runs []report.Run
	var firstErr error
	for _, dir := range req.dirs {
		run, notes, err := report.ReadRun(dir)
		for _, n := range notes {
			note(n)
		}
		if err != nil {
			note(err.Error())
			firstErr = cmp.Or(firstErr, err)
			continue
		}
		runs = append(runs, run)
	}
	if len(runs) == 0 {
		return fmt.Errorf("plot: nothing to plot: %w", firstErr)
	}
	if n := report.MixedDatasets(runs); n != "" {
		note(n)
	}
	if err := os.MkdirAll(req.out, 0o755); err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	write := func(name string, draw func(io.Writer) error) error {
		path := filepath.Join(req.out, name+"."+req.image.Format)
		if err := writePlot(path, draw); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "wrote", path)
		return nil
	}
	if req.plots[plotCurves] {
		if err := write(plotCurves, func(w io.Writer) error { return report.Curves(w, req.image, runs, report.Labels(runs)) }); err != nil {
			return err
		}
	}
	suffixes := runSuffixes(runs)
	for i, run := range runs {
		if !req.plots[plotPerClass] && !req.plots[plotConfusion] {
			break
		}
		if run.State == nil {
			continue // ReadRun's note said why
		}
		names, err := req.names(run.State.Config.Dataset, len(run.State.TrainCounts))
		if err != nil {
			note(err.Error())
		}
		if req.plots[plotPerClass] && len(run.Records) > 0 {
			if err := write(plotPerClass+suffixes[i], func(w io.Writer) error { return report.PerClass(w, req.image, run, names) }); err != nil {
				note(err.Error())
			}
		}
		if req.plots[plotConfusion] {
			res, err := req.evaluateBest(run)
			if err != nil {
				note(fmt.Sprintf("%s: no confusion matrix: %v", run.Dir, strings.TrimPrefix(err.Error(), "glmc: ")))
				continue
			}
			title := fmt.Sprintf("%s: best epoch %d, top-1 %.2f%%", filepath.Base(filepath.Clean(run.Dir)), run.State.BestEpoch, res.Top1)
			if err := write(plotConfusion+suffixes[i], func(w io.Writer) error {
				return report.Confusion(w, req.image, title, res.Confusion, names)
			}); err != nil {
				note(err.Error())
			}
		}
	}
	return nil
}

// evaluateBest evaluates the run's best checkpoint on the test split of
// its dataset, with its split's groups, its image size and transforms,
// and its data folder unless --data-dir names another.
func (req plotRequest) evaluateBest(run report.Run) (glmc.Result, error) {
	cfg := run.State.Config
	dir := req.dataDir
	if dir == "" {
		var err error
		if dir, err = glmc.ReadDataDir(run.Dir); err != nil {
			return glmc.Result{}, err
		}
	}
	res, _, _, err := evaluate(evalRequest{checkpoint: filepath.Join(run.Dir, glmc.BestFile), dataset: cfg.Dataset,
		dataDir: dir, files: data.FileOptions{Size: cfg.ImageSize}, transform: cfg.Transform,
		factor: cfg.ImbalanceFactor, seed: cfg.Seed, workers: req.workers})
	return res, err
}

// names returns the k class names of dataset: from --class-names, else
// the dataset's own, else the class indices with an error saying why.
func (req plotRequest) names(dataset string, k int) ([]string, error) {
	var names []string
	var err error
	if req.classNames != "" {
		names, err = readNames(req.classNames)
	} else {
		names, err = data.ClassNames(dataset, req.dataDir)
	}
	if err == nil && len(names) != k {
		err = fmt.Errorf("%d class names for %d classes", len(names), k)
	}
	if err == nil {
		return names, nil
	}
	names = make([]string, k)
	for c := range names {
		names[c] = strconv.Itoa(c)
	}
	return names, fmt.Errorf("class names: %v; classes are numbered", strings.TrimPrefix(err.Error(), "data: "))
}

// readNames reads a names file: one class name a line, blank lines
// skipped.
func readNames(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var names []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if s := strings.TrimSpace(sc.Text()); s != "" {
			names = append(names, s)
		}
	}
	return names, sc.Err()
}

// runSuffixes are the file name suffixes of each run's own plots: none
// for a single run, else "-" and the folder's name, numbered when two
// folders share a name.
func runSuffixes(runs []report.Run) []string {
	suffixes := make([]string, len(runs))
	if len(runs) == 1 {
		return suffixes
	}
	seen := map[string]int{}
	for i, r := range runs {
		base := filepath.Base(filepath.Clean(r.Dir))
		seen[base]++
		suffixes[i] = "-" + base
		if seen[base] > 1 {
			suffixes[i] += "-" + strconv.Itoa(seen[base])
		}
	}
	return suffixes
}

// refreshCurves redraws the curves of the run in dir as dir/curves.png,
// for `glmc train --plot`.
func refreshCurves(dir string) error {
	run, _, err := report.ReadRun(dir)
	if err != nil {
		return err
	}
	return writePlot(filepath.Join(dir, plotCurves+".png"), func(w io.Writer) error {
		return report.Curves(w, report.DefaultImage, []report.Run{run}, report.Labels([]report.Run{run}))
	})
}

// writePlot replaces path with the image draw writes, atomically, so that
// an image viewer never shows a half-written plot.
func writePlot(path string, draw func(io.Writer) error) error {
	if err := atomicfile.Write(path, draw); err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	return nil
}

// parsePlot parses and checks the command line of `glmc plot`: run
// folders, then flags (or flags first).
func parsePlot(args []string) (plotRequest, error) {
	fs := flag.NewFlagSet("plot RUNDIR [RUNDIR...]", flag.ContinueOnError) // the name heads -h's usage line
	req := plotRequest{image: report.DefaultImage}
	size := fmt.Sprintf("%dx%d", req.image.Width, req.image.Height)
	plots := strings.Join([]string{plotCurves, plotPerClass, plotConfusion}, ",")
	fs.StringVar(&req.out, "out", "", "folder for the images (default: the run folder, for a single run)")
	fs.StringVar(&req.image.Format, "format", req.image.Format, "image format: "+strings.Join(report.Formats, " or "))
	fs.StringVar(&size, "size", size, "image size in pixels, WIDTHxHEIGHT")
	fs.StringVar(&plots, "plots", plots, "comma-separated plots to draw")
	fs.StringVar(&req.dataDir, "data-dir", "", "data folder, for the confusion matrix (an evaluation of best.safetensors) and CIFAR's class names (default: as glmc train's)")
	fs.StringVar(&req.classNames, "class-names", "", "file with one class name a line (default: the dataset's names)")
	fs.IntVar(&req.workers, "workers", 2, "goroutines preparing evaluation batches")
	// Run folders and flags may come in any order: the flag package
	// stops at the first argument that is not a flag.
	for len(args) > 0 {
		for len(args) > 0 && !strings.HasPrefix(args[0], "-") {
			req.dirs, args = append(req.dirs, args[0]), args[1:]
		}
		if len(args) == 0 {
			break
		}
		fs.SetOutput(io.Discard)
		if err := fs.Parse(args); err != nil {
			return req, parseFlags(fs, args) // the same error, in every command's words
		}
		args = fs.Args()
	}
	if len(req.dirs) == 0 {
		return req, usageError{fmt.Errorf("want at least one run folder: glmc plot RUNDIR [RUNDIR...] [--out DIR]")}
	}
	if req.out == "" {
		if len(req.dirs) > 1 {
			return req, usageError{fmt.Errorf("--out is required with several run folders")}
		}
		req.out = req.dirs[0]
	}
	w, h, ok := strings.Cut(size, "x")
	var err1, err2 error
	req.image.Width, err1 = strconv.Atoi(w)
	req.image.Height, err2 = strconv.Atoi(h)
	if !ok || err1 != nil || err2 != nil {
		return req, usageError{fmt.Errorf("--size %q: want WIDTHxHEIGHT in pixels, such as 1200x900", size)}
	}
	if err := req.image.Check(); err != nil {
		return req, usageError{fmt.Errorf("--format/--size: %s", strings.TrimPrefix(err.Error(), "report: "))}
	}
	req.plots = map[string]bool{}
	for _, p := range strings.Split(plots, ",") {
		p = strings.TrimSpace(p)
		if p != plotCurves && p != plotPerClass && p != plotConfusion {
			return req, usageError{fmt.Errorf("--plots: unknown plot %q: want some of %s, %s, %s", p, plotCurves, plotPerClass, plotConfusion)}
		}
		req.plots[p] = true
	}
	if req.workers < 1 {
		return req, usageError{fmt.Errorf("--workers %d: want at least 1", req.workers)}
	}
	return req, nil
}
