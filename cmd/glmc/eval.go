package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
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

// runEval is `glmc eval`: the test-split metrics of a checkpoint, native
// (safetensors) or official (.pth/.pth.tar). The model is read off the
// checkpoint's tensor shapes; for a checkpoint of `glmc train` the
// dataset, imbalance factor and seed default to its run's.
func runEval(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	checkpoint := fs.String("checkpoint", "", "model to evaluate: a glmc safetensors file or an official PyTorch .pth/.pth.tar")
	dataset := fs.String("dataset", "", "dataset: "+strings.Join(data.Names(), ", ")+" (default: the run's, for glmc checkpoints)")
	dir := fs.String("data-dir", "", `data folder (default: Debian's Fashion-MNIST folder for fashion-mnist when installed, else "data")`)
	var factor float64
	fs.Float64Var(&factor, "imbalance-factor", 100, "imbalance factor of the training split, which decides the many/medium/few classes (default: the run's, else 100)")
	fs.Var(rateValue{&factor}, "imbanlance_rate", "official spelling (sic): the `ratio` 1/imbalance-factor")
	seed := fs.Uint64("seed", glmc.DefaultConfig().Seed, "seed of the training split (default: the run's)")
	workers := fs.Int("workers", 2, "goroutines preparing batches")
	asJSON := fs.Bool("json", false, "print one JSON object")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	switch {
	case *checkpoint == "":
		return usageError{fmt.Errorf("--checkpoint is required")}
	case set["imbalance-factor"] && set["imbanlance_rate"]:
		return usageError{fmt.Errorf("--imbalance-factor and --imbanlance_rate are the same setting: give one")}
	case *workers < 1:
		return usageError{fmt.Errorf("--workers %d: want at least 1", *workers)}
	}
	st, err := glmc.ReadState(*checkpoint)
	if err != nil {
		return err
	}
	if st != nil {
		if *dataset == "" {
			*dataset = st.Config.Dataset
		}
		if !set["imbalance-factor"] && !set["imbanlance_rate"] {
			factor = st.Config.ImbalanceFactor
		}
		if !set["seed"] {
			*seed = st.Config.Seed
		}
	}
	if *dataset == "" {
		return usageError{fmt.Errorf("--dataset is required for a checkpoint not written by glmc train: want one of %s", strings.Join(data.Names(), ", "))}
	}
	info, err := data.Lookup(*dataset)
	if err != nil {
		return usageError{err}
	}
	if !(factor >= 1) {
		return usageError{fmt.Errorf("--imbalance-factor %v: want a value ≥ 1", factor)}
	}

	m, err := nn.LoadModel(*checkpoint, nn.Config{})
	if err != nil {
		return err
	}
	if got := m.Config.NumClasses; got != info.Classes {
		return fmt.Errorf("eval: %s has %d classes (fc_cb.weight), %s has %d", *checkpoint, got, *dataset, info.Classes)
	}
	if got := m.Config.InChannels; got != info.Channels {
		return fmt.Errorf("eval: %s takes %d-channel images (conv1), %s has %d", *checkpoint, got, *dataset, info.Channels)
	}
	train, test, err := data.LoadLongTailed(*dataset, *dir, factor, *seed)
	if err != nil {
		return err
	}
	loader, err := data.NewLoader(data.LoaderConfig{Dataset: test, Sampler: data.SequentialSampler{N: test.Len()},
		BatchSize: 256, Transform: data.EvalTransform(info), Workers: *workers})
	if err != nil {
		return err
	}
	res, err := glmc.Evaluate(m, loader, train.ClassCounts())
	if err != nil {
		return err
	}
	if *asJSON {
		b, err := json.Marshal(evalReport{Checkpoint: *checkpoint, Arch: m.Config.Arch, Width: m.Config.Width,
			Dataset: *dataset, ImbalanceFactor: factor, Result: res})
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, string(b))
		return nil
	}
	fmt.Fprintf(stdout, "%s (%s, width %d) on %s (%d test images; groups from the IF %g split):\n",
		*checkpoint, m.Config.Arch, m.Config.Width, *dataset, res.Samples, factor)
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
