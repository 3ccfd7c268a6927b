package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/glmc/glmc/data"
	"github.com/glmc/glmc/glmc"
	"github.com/glmc/glmc/nn"
)

// evalReport is what `glmc eval --json` prints: the metrics and what they
// were measured on.
type evalReport struct {
	Checkpoint      string  `json:"checkpoint"`
	Arch            string  `json:"arch"`
	Width           int     `json:"width"`
	Dataset         string  `json:"dataset"`
	ImbalanceFactor float64 `json:"imbalance_factor"`
	glmc.Result
}

// evalRequest is a parsed `glmc eval` command line.
type evalRequest struct {
	checkpoint string // glmc safetensors or official .pth/.pth.tar
	dataset    string // a data.Names() entry
	dataDir    string // "" for the default folder
	files      data.FileOptions
	transform  string  // data.Recipe's recipe
	factor     float64 // imbalance factor of the training split: it decides the many/medium/few classes
	seed       uint64  // seed of the training split
	workers    int
	json       bool
}

// runEval is `glmc eval`: the test-split metrics of a checkpoint, native
// (safetensors) or official (.pth/.pth.tar). The model is read off the
// checkpoint's tensor shapes.
func runEval(args []string, stdout io.Writer) error {
	req, err := parseEval(args)
	if err != nil {
		return err
	}
	res, m, train, err := evaluate(req)
	if err != nil {
		return err
	}
	if req.json {
		b, err := json.Marshal(evalReport{Checkpoint: req.checkpoint, Arch: m.Config.Arch, Width: m.Config.Width,
			Dataset: req.dataset, ImbalanceFactor: req.factor, Result: res})
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, string(b))
		return nil
	}
	fmt.Fprintf(stdout, "%s (%s, width %d) on %s (%d test images; groups from the IF %g split):\n",
		req.checkpoint, m.Config.Arch, m.Config.Width, req.dataset, res.Samples, req.factor)
	fmt.Fprintf(stdout, "top-1 %.2f  top-5 %.2f  many %s (%d classes)  medium %s (%d)  few %s (%d)\n",
		res.Top1, res.Top5, res.Many, res.ManyClasses, res.Medium, res.MediumClasses, res.Few, res.FewClasses)
	tw := tabwriter.NewWriter(stdout, 0, 8, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "class\ttrain images\ttest images\ttop-1\t")
	counts := train.ClassCounts()
	for c, acc := range res.PerClass {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.2f\t\n", train.Classes[c], counts[c], res.Support[c], acc)
	}
	return tw.Flush()
}

// evaluate loads the checkpoint and the data of req and returns the
// metrics, the model and the long-tailed training split (whose counts
// decide the groups and which names the classes).
func evaluate(req evalRequest) (glmc.Result, *nn.Model, *data.Dataset, error) {
	info, err := data.Lookup(req.dataset)
	if err != nil {
		return glmc.Result{}, nil, nil, err
	}
	m, err := nn.LoadModel(req.checkpoint, nn.Config{})
	if err != nil {
		return glmc.Result{}, nil, nil, err
	}
	if got := m.Config.InChannels; got != info.Channels {
		return glmc.Result{}, nil, nil, fmt.Errorf("eval: %s takes %d-channel images (conv1), %s has %d", req.checkpoint, got, req.dataset, info.Channels)
	}
	train, test, err := data.LoadLongTailedFiles(req.dataset, req.dataDir, req.files, req.factor, req.seed)
	if err != nil {
		return glmc.Result{}, nil, nil, err
	}
	// The classes of image-file datasets come from their training lists.
	if got, want := m.Config.NumClasses, len(train.Classes); got != want {
		return glmc.Result{}, nil, nil, fmt.Errorf("eval: %s has %d classes (fc_cb.weight), %s has %d", req.checkpoint, got, req.dataset, want)
	}
	_, tf, err := data.Recipe(info, req.transform)
	if err != nil {
		return glmc.Result{}, nil, nil, err
	}
	loader, err := data.NewLoader(data.LoaderConfig{Dataset: test, Sampler: data.SequentialSampler{N: test.Len()},
		BatchSize: 256, Transform: tf, Workers: req.workers})
	if err != nil {
		return glmc.Result{}, nil, nil, err
	}
	res, err := glmc.Evaluate(m, loader, train.ClassCounts())
	return res, m, train, err
}

// parseEval parses and checks the flags of `glmc eval`. For a checkpoint
// of `glmc train` the dataset, imbalance factor and seed not given default
// to its run's, so that the groups are those of the training split.
func parseEval(args []string) (evalRequest, error) {
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	def := glmc.DefaultConfig()
	req := evalRequest{factor: def.ImbalanceFactor, seed: def.Seed}
	fs.StringVar(&req.checkpoint, "checkpoint", "", "model to evaluate: a glmc safetensors file or an official PyTorch .pth/.pth.tar")
	fs.StringVar(&req.dataset, "dataset", "", "dataset: "+strings.Join(data.Names(), ", ")+" (default: the run's, for glmc checkpoints)")
	fs.StringVar(&req.dataDir, "data-dir", "", `data folder (default: the run's, else Debian's Fashion-MNIST folder for fashion-mnist when installed, else "data")`)
	fs.StringVar(&req.dataDir, "root", "", "official spelling of --data-dir")
	listFlags(fs, &req.files)
	fs.IntVar(&req.files.Size, "image-size", 0, "image-file datasets: side of the square images the evaluation transform makes (default: the run's, else 224)")
	fs.StringVar(&req.transform, "transform", "", "image-file datasets: evaluate the images as they decode, normalised as this in-memory dataset is (default: the run's, else the official ImageNet-LT transform)")
	fs.Float64Var(&req.factor, "imbalance-factor", req.factor, "imbalance factor of the training split, which decides the many/medium/few classes (default: the run's, else 100)")
	fs.Var(rateValue{&req.factor}, "imbanlance_rate", "official spelling (sic): the `ratio` 1/imbalance-factor")
	fs.Uint64Var(&req.seed, "seed", req.seed, "seed of the training split (default: the run's)")
	fs.IntVar(&req.workers, "workers", 2, "goroutines preparing batches")
	fs.Var(fs.Lookup("workers").Value, "j", "official spelling of --workers")
	fs.BoolVar(&req.json, "json", false, "print one JSON object")
	if err := parseFlags(fs, args); err != nil {
		return req, err
	}
	set, err := setFlags(fs)
	if err != nil {
		return req, err
	}
	switch {
	case req.checkpoint == "":
		return req, usageError{fmt.Errorf("--checkpoint is required")}
	case req.workers < 1:
		return req, usageError{fmt.Errorf("--workers %d: want at least 1", req.workers)}
	}
	st, err := glmc.ReadState(req.checkpoint)
	if err != nil {
		return req, err
	}
	if st != nil {
		if !set["dataset"] {
			req.dataset = st.Config.Dataset
		}
		if !set["imbalance-factor"] {
			req.factor = st.Config.ImbalanceFactor
		}
		if !set["seed"] {
			req.seed = st.Config.Seed
		}
		if !set["image-size"] {
			req.files.Size = st.Config.ImageSize
		}
		if !set["transform"] {
			req.transform = st.Config.Transform
		}
		if !set["data-dir"] {
			if req.dataDir, err = glmc.ReadDataDir(filepath.Dir(req.checkpoint)); err != nil {
				return req, err
			}
		}
	}
	if req.dataset == "" {
		return req, usageError{fmt.Errorf("--dataset is required for a checkpoint not written by glmc train: want one of %s", strings.Join(data.Names(), ", "))}
	}
	info, err := data.Lookup(req.dataset)
	if err != nil {
		return req, usageError{err}
	}
	if _, _, err := data.Recipe(info, req.transform); err != nil {
		return req, usageError{fmt.Errorf("--transform: %w", err)}
	}
	if !(req.factor >= 1) || math.IsInf(req.factor, 0) {
		return req, usageError{fmt.Errorf("--imbalance-factor %v: want a finite value ≥ 1", req.factor)}
	}
	if req.seed > math.MaxUint32 {
		return req, usageError{fmt.Errorf("--seed %d: the long-tailed split takes numpy seeds, 0..%d", req.seed, uint64(math.MaxUint32))}
	}
	return req, nil
}
