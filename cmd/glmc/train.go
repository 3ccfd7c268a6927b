package main

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/glmc/glmc/data"
	"github.com/glmc/glmc/dist"
	"github.com/glmc/glmc/glmc"
	"github.com/glmc/glmc/nn"
)

// officialSpellings maps the flag names of the official main.py that
// `glmc train` accepts to the flags they stand for, so that the paper's
// commands can be pasted.
var officialSpellings = map[string]string{
	"a": "arch", "b": "batch-size", "batch_size": "batch-size", "wd": "weight-decay", "weight_decay": "weight-decay",
	"learning-rate": "lr", "label_weighting": "label-weighting", "resample_weighting": "resample-weighting",
	"contrast_weight": "contrast-weight", "j": "workers", "root": "data-dir",
}

// trainRequest is a parsed `glmc train` command line.
type trainRequest struct {
	cfg     glmc.Config
	dataDir string
	opts    glmc.Options // without the writers, group and launcher, which runTrain chooses
	quiet   bool
	plot    bool // refresh the run folder's curves after every epoch
	// launch are the explicit data-parallel flags, timeout the collectives'
	// (dist.Config.Timeout) and joinTimeout the rendezvous'
	// (dist.Config.JoinTimeout).
	launch      dist.Flags
	timeout     time.Duration
	joinTimeout time.Duration
	// noCheckpoint is --resume's error for a folder without a checkpoint,
	// which only rank 0 needs: the other ranks take the flags as given
	// (the rendezvous fingerprint checks they are rank 0's run).
	noCheckpoint error
	// files are the list files of the image-file datasets; skipBad leaves
	// out, and reports, their images that do not decode.
	files   data.FileOptions
	skipBad bool
}

// runTrain is `glmc train`.
func runTrain(args []string, stdout io.Writer) error {
	req, err := parseTrain(args)
	if err != nil {
		return err
	}
	launch, err := dist.Detect(os.Getenv, req.launch)
	if err != nil {
		return err
	}
	if launch.WorldSize > 1 {
		fmt.Fprintf(stdout, "glmc: %s\n", launch)
	}
	// Ctrl-C ends the run between two steps; the folder keeps the last
	// finished epoch.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	group, train, test, err := joinGroup(ctx, launch, req, stdout)
	if err != nil {
		return err
	}
	defer group.Close()
	req.opts.Group, req.opts.Launcher = group, launch.Launcher
	if !req.quiet && launch.Rank == 0 {
		req.opts.Log = stdout
		if isTerminal(os.Stderr) {
			req.opts.Progress = os.Stderr
		}
	}
	t, err := glmc.NewTrainer(req.cfg, train, test, req.opts)
	if err != nil {
		return err
	}
	// Only rank 0 has a run folder to plot.
	for req.plot && launch.Rank == 0 && !t.Done() {
		if _, err := t.RunEpoch(ctx); err != nil {
			return err
		}
		if err := refreshCurves(req.opts.Dir); err != nil {
			// A plot is for watching: the run goes on without it.
			fmt.Fprintf(stdout, "glmc train: --plot: %s\n", strings.TrimPrefix(err.Error(), "report: "))
		}
	}
	summary, err := t.Run(ctx) // the epochs left, and the summary
	if err != nil || launch.Rank != 0 {
		return err
	}
	fmt.Fprintf(stdout, "%s: %s\n", req.opts.Dir, summary)
	return nil
}

// joinGroup loads the data and meets the other ranks of launch (at once
// for one process). When rank 0 fails before it can meet the others, it
// tells them why (dist.Abandon) instead of leaving them to wait for the
// join deadline.
func joinGroup(ctx context.Context, launch dist.Launch, req trainRequest, stdout io.Writer) (*dist.Group, *data.Dataset, *data.Dataset, error) {
	cfg, err := launch.Config()
	if err != nil {
		return nil, nil, nil, err
	}
	cfg.Timeout, cfg.JoinTimeout = req.timeout, req.joinTimeout
	train, test, err := loadRun(launch, req, &cfg, stdout)
	if err != nil {
		if launch.Rank == 0 && launch.WorldSize > 1 {
			fmt.Fprintf(stdout, "glmc: rank 0 failed before the rendezvous; it tells the other ranks as they dial in, for up to %v (--join-timeout)\n", req.joinTimeout)
		}
		dist.Abandon(ctx, cfg, err)
		return nil, nil, nil, err
	}
	group, err := dist.Join(ctx, cfg)
	return group, train, test, err
}

// loadRun loads the data of req and, for more than one rank, sets the
// fingerprint of what the ranks must agree on: the Config and the names
// and shapes of the model's state dict.
func loadRun(launch dist.Launch, req trainRequest, cfg *dist.Config, stdout io.Writer) (train, test *data.Dataset, err error) {
	if req.noCheckpoint != nil && launch.Rank == 0 {
		return nil, nil, req.noCheckpoint
	}
	req.files.Size = req.cfg.ImageSize
	train, test, err = data.LoadLongTailedFiles(req.cfg.Dataset, req.dataDir, req.files, req.cfg.ImbalanceFactor, req.cfg.Seed)
	if err == nil && req.skipBad {
		train, test, err = skipBadImages(train, test, req.opts.Workers, stdout)
	}
	if err != nil {
		return nil, nil, err
	}
	if err := req.cfg.CheckWorldSize(train, launch.WorldSize); err != nil {
		return nil, nil, err
	}
	if err := checkMemory(req.cfg, train, launch, req.quiet, stdout); err != nil {
		return nil, nil, err
	}
	if launch.WorldSize > 1 {
		model, err := glmc.NewModel(req.cfg, train)
		if err != nil {
			return nil, nil, err
		}
		js, err := json.Marshal(req.cfg)
		if err != nil {
			return nil, nil, err
		}
		h := sha256.New()
		h.Write(js)
		for _, e := range nn.StateDict(model) {
			fmt.Fprintf(h, "\n%s %v", e.Name, e.Shape())
		}
		cfg.Fingerprint = h.Sum(nil)
	}
	return train, test, nil
}

// parseTrain parses and checks the flags of `glmc train`; with --resume
// the settings come from the saved run.
func parseTrain(args []string) (trainRequest, error) {
	fs := flag.NewFlagSet("train", flag.ContinueOnError)
	def := glmc.DefaultConfig()
	req := trainRequest{cfg: def}
	cfg := &req.cfg
	fs.StringVar(&cfg.Dataset, "dataset", def.Dataset, "dataset: "+strings.Join(data.Names(), ", "))
	fs.StringVar(&req.dataDir, "data-dir", "", `data folder (default: Debian's Fashion-MNIST folder for fashion-mnist when installed, else "data")`)
	listFlags(fs, &req.files)
	fs.IntVar(&cfg.ImageSize, "image-size", 0, "image-file datasets: side of the square images the official transforms make (default 224; e.g. 32 for CIFAR-10 as JPEGs)")
	fs.StringVar(&cfg.Transform, "transform", "", "image-file datasets: train and evaluate the images as they decode with the augmentation and normalisation of this in-memory dataset, e.g. cifar10 for CIFAR-10 as JPEGs with --image-size 32 (default: the official ImageNet-LT transforms)")
	fs.BoolVar(&req.skipBad, "skip-bad-images", false, "image-file datasets: decode every image first and leave out, listing them, those that fail (default: a bad image stops the run)")
	fs.Float64Var(&cfg.ImbalanceFactor, "imbalance-factor", def.ImbalanceFactor, "n_max/n_min of the long-tailed training split")
	fs.Var(rateValue{&cfg.ImbalanceFactor}, "imbanlance_rate", "official spelling (sic): the `ratio` 1/imbalance-factor, e.g. 0.01 for 100")
	fs.StringVar(&cfg.Arch, "arch", def.Arch, "architecture: "+strings.Join(nn.Archs(), ", ")+" (default: the dataset's official one, resnext50_32x4d for imagenet-lt and inat2018, else resnet32)")
	fs.IntVar(&cfg.Width, "width", def.Width, "channels of the first stage (the official nets use 64; the classic ResNet-32 16)")
	fs.Var(blocksValue{&cfg.Blocks}, "blocks", "comma-separated `counts` of blocks per stage, e.g. 1,1,1 for a quick small net (default: the architecture's)")
	fs.StringVar(&cfg.Method, "method", def.Method, "glmc, or ce for the plain cross-entropy baseline")
	fs.IntVar(&cfg.Epochs, "epochs", def.Epochs, "epochs")
	fs.IntVar(&cfg.BatchSize, "batch-size", def.BatchSize, "batch size (of each of the two GLMC batches)")
	fs.Float64Var(&cfg.LR, "lr", def.LR, "peak learning rate")
	fs.Float64Var(&cfg.Momentum, "momentum", def.Momentum, "SGD momentum")
	fs.Float64Var(&cfg.WeightDecay, "weight-decay", def.WeightDecay, "weight decay (on every parameter)")
	fs.StringVar(&cfg.Schedule, "schedule", "", "learning-rate schedule: cosine (the official CIFAR one) or paco (the official ImageNet-LT/iNaturalist one: warm-up then cosine) (default: the dataset's official one)")
	fs.IntVar(&cfg.WarmupEpochs, "warmup-epochs", def.WarmupEpochs, "epochs of linear warm-up of the paco schedule")
	fs.Float64Var(&cfg.LabelWeighting, "label-weighting", def.LabelWeighting, "τ: label weights n_c^-τ of the re-balanced soft labels")
	fs.Float64Var(&cfg.ResampleWeighting, "resample-weighting", def.ResampleWeighting, "q: class weights n_c^-q of the re-balanced sampler")
	fs.Float64Var(&cfg.ContrastWeight, "contrast-weight", def.ContrastWeight, "γ: weight of the mixture-consistency term")
	fs.Float64Var(&cfg.MaxNorm, "max-norm", def.MaxNorm, "threshold of the MaxNorm projection of fc_cb after each step, e.g. 0.1 (0: none)")
	fs.Uint64Var(&cfg.Seed, "seed", def.Seed, "seed of the split, the weights and every random draw")
	fs.StringVar(&req.opts.Dir, "out", "", "run folder (default runs/DATASET-ifIF-METHOD)")
	fs.BoolVar(&req.opts.Resume, "resume", false, "continue the run in --out from its last checkpoint")
	fs.IntVar(&req.opts.Workers, "workers", 2, "goroutines preparing batches (results do not depend on it)")
	fs.BoolVar(&req.quiet, "quiet", false, "no progress bar and no line per epoch")
	fs.BoolVar(&req.plot, "plot", false, "redraw the run folder's curves.png after every epoch (see glmc plot)")
	fs.IntVar(&req.launch.Rank, "rank", 0, "data-parallel rank of this process, with --world-size (default: the launcher's, e.g. torchrun, srun, mpirun)")
	fs.IntVar(&req.launch.WorldSize, "world-size", 0, "data-parallel processes, overriding the launcher's; --batch-size stays the global batch (default: the launcher's, else 1)")
	fs.StringVar(&req.launch.MasterAddr, "master-addr", "", "host of rank 0, where the ranks meet (default: the launcher's)")
	fs.IntVar(&req.launch.MasterPort, "master-port", 0, "port of rank 0, where the ranks meet (default: the launcher's, else 29500)")
	syncBN := fs.Bool("sync-bn", true, "synchronise batch-norm statistics over the ranks, so they train as one process with the whole batch (false: each rank's own; rank 0's running statistics are saved)")
	fs.DurationVar(&req.timeout, "dist-timeout", 10*time.Minute, "longest wait for the other ranks in one exchange; must exceed rank 0's evaluation and checkpoint")
	fs.DurationVar(&req.joinTimeout, "join-timeout", 10*time.Minute, "longest wait for all ranks to start and meet at rank 0, after which every rank gives up naming the missing ones")
	numClasses := fs.Int("num_classes", 0, "official spelling: checked against the dataset's class count")
	fs.Float64("beta", 0.5, "official spelling, accepted and unused: the official code draws λ from Beta(1, 1) whatever its value")
	for alt, canonical := range officialSpellings {
		fs.Var(fs.Lookup(canonical).Value, alt, "official spelling of --"+canonical)
	}
	if err := parseFlags(fs, args); err != nil {
		return req, err
	}
	set, err := setFlags(fs)
	if err != nil {
		return req, err
	}
	if !set["schedule"] {
		cfg.Schedule = glmc.DefaultSchedule(cfg.Dataset)
	}
	if !set["arch"] {
		cfg.Arch = glmc.DefaultArch(cfg.Dataset)
	}
	if req.opts.Dir == "" {
		req.opts.Dir = filepath.Join("runs", fmt.Sprintf("%s-if%g-%s", cfg.Dataset, cfg.ImbalanceFactor, cfg.Method))
	}
	req.opts.LocalBN = !*syncBN
	if req.opts.Resume {
		saved, err := savedConfig(req.cfg, set, req.opts.Dir)
		switch {
		case errors.Is(err, errNoCheckpoint):
			req.noCheckpoint = err
		case err != nil:
			return req, err
		default:
			req.cfg = saved
			if !set["data-dir"] {
				if req.dataDir, err = glmc.ReadDataDir(req.opts.Dir); err != nil {
					return req, err
				}
			}
		}
	}
	if req.dataDir != "" {
		abs, err := filepath.Abs(req.dataDir)
		if err != nil {
			return req, fmt.Errorf("glmc: --data-dir %s: %w", req.dataDir, err)
		}
		req.dataDir, req.opts.DataDir = abs, abs
	}
	if req.timeout <= 0 {
		return req, usageError{fmt.Errorf("--dist-timeout %v: want a positive duration", req.timeout)}
	}
	if req.joinTimeout <= 0 {
		return req, usageError{fmt.Errorf("--join-timeout %v: want a positive duration", req.joinTimeout)}
	}
	if err := cfg.Validate(); err != nil {
		return req, usageError{err}
	}
	if req.opts.Workers < 1 {
		return req, usageError{fmt.Errorf("--workers %d: want at least 1", req.opts.Workers)}
	}
	info, _ := data.Lookup(cfg.Dataset) // Validate checked the name
	// A folder's classes are its own: there is no count to check against.
	if set["num_classes"] && info.Classes > 0 && *numClasses != info.Classes {
		return req, usageError{fmt.Errorf("--num_classes %d: %s has %d classes", *numClasses, cfg.Dataset, info.Classes)}
	}
	return req, nil
}

// setFlags returns the flags given on the command line by their main
// names, and rejects a setting given under two spellings.
func setFlags(fs *flag.FlagSet) (map[string]bool, error) {
	set := map[string]bool{}
	spelled := map[string]string{}
	var err error
	fs.Visit(func(f *flag.Flag) {
		name := f.Name
		if canonical, ok := officialSpellings[name]; ok {
			name = canonical
		}
		if other, ok := spelled[name]; ok && err == nil {
			err = usageError{fmt.Errorf("%s and %s are the same setting: give it once", dashed(other), dashed(f.Name))}
		}
		set[name], spelled[name] = true, f.Name
	})
	if set["imbanlance_rate"] && set["imbalance-factor"] {
		err = usageError{errors.New("--imbalance-factor and --imbanlance_rate are the same setting: give one")}
	}
	if set["imbanlance_rate"] {
		set["imbalance-factor"] = true
	}
	return set, err
}

// dashed writes a flag name as on the command line: -a, --arch.
func dashed(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

// savedConfig returns the Config of the run saved in dir: flags given on
// the command line must agree with it, the others take its values.
func savedConfig(cfg glmc.Config, set map[string]bool, dir string) (glmc.Config, error) {
	path := filepath.Join(dir, glmc.LastFile)
	st, err := glmc.ReadState(path)
	if errors.Is(err, os.ErrNotExist) {
		return cfg, fmt.Errorf("glmc: --resume: %w %s (the run has not finished an epoch yet, or --out is wrong)", errNoCheckpoint, path)
	}
	if err != nil {
		return cfg, err
	}
	if st == nil {
		return cfg, fmt.Errorf("glmc: --resume: %s has no run state (not written by glmc train)", path)
	}
	saved := st.Config
	given, stored := reflect.ValueOf(&cfg).Elem(), reflect.ValueOf(saved)
	for i := range given.NumField() {
		name := configFlag(given.Type().Field(i))
		if set[name] && !reflect.DeepEqual(given.Field(i).Interface(), stored.Field(i).Interface()) {
			return cfg, usageError{fmt.Errorf("--%s %v contradicts the saved run's %v (%s): drop the flag to keep it, or train into another --out",
				name, flagText(given.Field(i)), flagText(stored.Field(i)), path)}
		}
	}
	return saved, nil
}

// errNoCheckpoint is savedConfig's error for a folder without LastFile.
var errNoCheckpoint = errors.New("no checkpoint")

// configFlag is the flag of a Config field: its JSON name with dashes.
func configFlag(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	return strings.ReplaceAll(name, "_", "-")
}

// flagText prints a Config field as it is written on the command line.
func flagText(v reflect.Value) string {
	if b, ok := v.Interface().([]int); ok {
		return blocksValue{&b}.String()
	}
	return fmt.Sprint(v.Interface())
}

// rateValue is --imbanlance_rate: the official ratio n_min/n_max, stored
// as the imbalance factor it is the inverse of.
type rateValue struct{ factor *float64 }

func (r rateValue) String() string {
	if r.factor == nil || *r.factor == 0 {
		return ""
	}
	return strconv.FormatFloat(1 / *r.factor, 'g', -1, 64)
}

func (r rateValue) Set(s string) error {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || !(v > 0 && v <= 1) {
		return fmt.Errorf("want a ratio in (0, 1], such as 0.01 for imbalance factor 100")
	}
	*r.factor = 1 / v
	return nil
}

// blocksValue is --blocks: comma-separated block counts per stage.
type blocksValue struct{ blocks *[]int }

func (b blocksValue) String() string {
	if b.blocks == nil || *b.blocks == nil {
		return ""
	}
	parts := make([]string, len(*b.blocks))
	for i, n := range *b.blocks {
		parts[i] = strconv.Itoa(n)
	}
	return strings.Join(parts, ",")
}

func (b blocksValue) Set(s string) error {
	var blocks []int
	for _, part := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(part))
		if err != nil || n < 1 {
			return fmt.Errorf("want positive block counts separated by commas, such as 5,5,5")
		}
		blocks = append(blocks, n)
	}
	*b.blocks = blocks
	return nil
}

// isTerminal reports whether f is a terminal (a character device), where
// a progress bar belongs.
func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
