package glmc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/glmc/glmc/data"
	"github.com/glmc/glmc/nn"
	"github.com/glmc/glmc/optim"
	"github.com/glmc/glmc/tensor"
)

// Methods a run can train with.
const (
	MethodGLMC = "glmc" // the official GLMC step (GLMCStep)
	MethodCE   = "ce"   // plain cross-entropy on the uniform batch (CEStep), the baseline
)

// Learning-rate schedules, by their --schedule names.
const (
	// ScheduleCosine is the official CIFAR schedule: cosine annealing from
	// the first epoch to 0 (optim.Cosine), stepped after each epoch.
	ScheduleCosine = "cosine"
	// SchedulePaco is the official ImageNet-LT and iNaturalist schedule:
	// a linear warm-up then a cosine decay, set after each epoch
	// (optim.Paco).
	SchedulePaco = "paco"
)

// DefaultSchedule is the schedule the official Trainer.py trains dataset
// with: SchedulePaco for ImageNet-LT and iNaturalist 2018 (by this
// project's names or the official ones), ScheduleCosine for everything
// else, CIFAR included.
func DefaultSchedule(dataset string) string {
	if largeScale(dataset) {
		return SchedulePaco
	}
	return ScheduleCosine
}

// DefaultArch is the architecture the official main.py trains dataset
// with: ResNeXt-50 32×4d for ImageNet-LT and iNaturalist 2018 (main.py
// builds it whatever its -a says), ResNet-32 for everything else.
func DefaultArch(dataset string) string {
	if largeScale(dataset) {
		return "resnext50_32x4d"
	}
	return "resnet32"
}

// largeScale reports whether dataset is ImageNet-LT or iNaturalist 2018,
// by this project's names or the official ones.
func largeScale(dataset string) bool {
	switch dataset {
	case "imagenet-lt", "inat2018", "ImageNet-LT", "iNaturelist2018":
		return true
	}
	return false
}

// Config is everything that decides the numbers a run produces: the flags
// of `glmc train` apart from where files go and how many goroutines work.
// A resumed run must have the same Config.
type Config struct {
	Dataset         string  `json:"dataset"`          // a data.Names() entry
	ImbalanceFactor float64 `json:"imbalance_factor"` // n_max/n_min of the long-tailed training split
	Arch            string  `json:"arch"`             // an nn.Archs() entry
	Width           int     `json:"width"`            // nf, the channels of the first stage
	Blocks          []int   `json:"blocks,omitempty"` // blocks per stage; nil for the architecture's own
	Method          string  `json:"method"`           // MethodGLMC or MethodCE
	Epochs          int     `json:"epochs"`
	BatchSize       int     `json:"batch_size"`
	LR              float64 `json:"lr"` // peak learning rate
	Momentum        float64 `json:"momentum"`
	WeightDecay     float64 `json:"weight_decay"`  // coupled L2 on every parameter, batch norm included
	Schedule        string  `json:"schedule"`      // ScheduleCosine or SchedulePaco (DefaultSchedule gives the dataset's)
	WarmupEpochs    int     `json:"warmup_epochs"` // warm-up of SchedulePaco
	// LabelWeighting is τ of the re-balanced soft labels (LabelWeights),
	// ResampleWeighting q of the class-weighted sampler (class weights
	// n_c^−q), ContrastWeight γ of the consistency term.
	LabelWeighting    float64 `json:"label_weighting"`
	ResampleWeighting float64 `json:"resample_weighting"`
	ContrastWeight    float64 `json:"contrast_weight"`
	// MaxNorm is the threshold of the MaxNorm projection of fc_cb after
	// every step (0.1 in the code that introduced it), 0 for none.
	MaxNorm float64 `json:"max_norm"`
	// Seed decides the long-tailed split (as numpy's seed, so below 2^32),
	// the initial weights, the sample orders, the augmentations and the
	// draws of every step.
	Seed uint64 `json:"seed"`
	// ImageSize is the side of the images of an image-file dataset
	// (data.FileOptions.Size); 0 for the official 224.
	ImageSize int `json:"image_size,omitempty"`
	// Transform names the dataset whose augmentation and normalisation
	// the images get (data.Recipe): empty for the dataset's own, or e.g.
	// cifar10 for a folder of CIFAR-10 images.
	Transform string `json:"transform,omitempty"`
}

// DefaultConfig is the paper's CIFAR-10-LT recipe at imbalance factor 100,
// as the official README runs it: ResNet-32 at the official width 64, 200
// epochs of batch 64, SGD with lr 0.01, momentum 0.9 and weight decay
// 5e-3 under the official CIFAR schedule (cosine annealing, no warm-up),
// τ = 1.2, q = 0, γ = 1, seed 3407. A Config for another dataset takes
// that dataset's DefaultSchedule.
func DefaultConfig() Config {
	return Config{
		Dataset: "cifar10", ImbalanceFactor: 100, Arch: "resnet32", Width: nn.DefaultWidth, Method: MethodGLMC,
		Epochs: 200, BatchSize: 64, LR: 0.01, Momentum: 0.9, WeightDecay: 5e-3,
		Schedule: ScheduleCosine, WarmupEpochs: 10,
		LabelWeighting: 1.2, ResampleWeighting: 0, ContrastWeight: 1, Seed: 3407,
	}
}

// Validate reports the first setting that no run can use, naming it by its
// --flag.
func (c Config) Validate() error {
	info, err := data.Lookup(c.Dataset)
	if err != nil {
		return err
	}
	if _, _, err := data.Recipe(info, c.Transform); err != nil {
		return fmt.Errorf("glmc: --transform: %w", err)
	}
	if !slices.Contains(nn.Archs(), c.Arch) {
		return fmt.Errorf("glmc: --arch %q: want one of %s", c.Arch, strings.Join(nn.Archs(), ", "))
	}
	// The two weightings are exponents, so any finite value works; the
	// other numbers are rates, factors and weights.
	for _, f := range []struct {
		flag     string
		v        float64
		negative bool
	}{
		{"lr", c.LR, false}, {"momentum", c.Momentum, false}, {"weight-decay", c.WeightDecay, false},
		{"max-norm", c.MaxNorm, false}, {"contrast-weight", c.ContrastWeight, false},
		{"label-weighting", c.LabelWeighting, true}, {"resample-weighting", c.ResampleWeighting, true},
	} {
		if math.IsNaN(f.v) || math.IsInf(f.v, 0) || (f.v < 0 && !f.negative) {
			want := "a finite value ≥ 0"
			if f.negative {
				want = "a finite value"
			}
			return fmt.Errorf("glmc: --%s %v: want %s", f.flag, f.v, want)
		}
	}
	switch {
	case !(c.ImbalanceFactor >= 1) || math.IsInf(c.ImbalanceFactor, 0):
		return fmt.Errorf("glmc: --imbalance-factor %v: want a finite value ≥ 1", c.ImbalanceFactor)
	case c.ImageSize < 0:
		return fmt.Errorf("glmc: --image-size %d: want a positive side, or 0 for the official 224", c.ImageSize)
	case c.Width < 1:
		return fmt.Errorf("glmc: --width %d: want at least 1", c.Width)
	case c.Method != MethodGLMC && c.Method != MethodCE:
		return fmt.Errorf("glmc: --method %q: want %s or %s", c.Method, MethodGLMC, MethodCE)
	case c.Epochs < 1:
		return fmt.Errorf("glmc: --epochs %d: want at least 1", c.Epochs)
	case c.BatchSize < 1:
		return fmt.Errorf("glmc: --batch-size %d: want at least 1", c.BatchSize)
	case c.Schedule != ScheduleCosine && c.Schedule != SchedulePaco:
		return fmt.Errorf("glmc: --schedule %q: want %s or %s", c.Schedule, ScheduleCosine, SchedulePaco)
	case c.Schedule == SchedulePaco && c.WarmupEpochs < 1:
		return fmt.Errorf("glmc: --warmup-epochs %d: want at least 1", c.WarmupEpochs)
	case c.Seed > math.MaxUint32:
		return fmt.Errorf("glmc: --seed %d: the long-tailed split takes numpy seeds, 0..%d", c.Seed, uint64(math.MaxUint32))
	}
	return nil
}

// LRSchedule returns the learning-rate schedule of a valid c: the rate
// each epoch trains at.
func (c Config) LRSchedule() optim.Schedule {
	if c.Schedule == SchedulePaco {
		return optim.Paco{Base: c.LR, Warmup: c.WarmupEpochs, Epochs: c.Epochs}
	}
	return optim.Cosine{Base: c.LR, Epochs: c.Epochs}
}

// Options are the settings of a Trainer that do not change its numbers,
// but for the data-parallel ones (Group, LocalBN): another world size adds
// in another order, and LocalBN normalises with each rank's shard.
type Options struct {
	Dir     string // run folder, created if missing
	Resume  bool   // continue the run in Dir instead of starting one
	Workers int    // goroutines making batches; 0 means 1
	// DataDir is where the data were read from, absolute, recorded in
	// LastStateFile (ReadDataDir); empty for the dataset's default folder.
	DataDir string
	// Progress receives a progress bar per epoch (loss, images per second,
	// time left), Log a line per finished epoch; nil for none.
	Progress io.Writer
	Log      io.Writer
	// Group, when it has more than one rank, makes the trainer one rank of
	// a data-parallel run (see Group); nil (or one rank) for one process.
	Group Group
	// LocalBN keeps each rank's batch-norm statistics to its own shard
	// (--sync-bn=false) instead of synchronising them over the group.
	LocalBN bool
	// Launcher names what started the process (dist.Launch.Launcher), for
	// LastStateFile and SummaryFile; empty for none.
	Launcher string
}

// Group is the data-parallel group of a Trainer; *dist.Group is one. With
// P ranks, --batch-size stays the global batch: each rank makes its shard
// of every step's batch of both loaders (data.Shard), draws the step's λ
// and box as every rank does, and sums its gradients over the group
// (Learner.Group), batch norm synchronised unless Options.LocalBN. Rank 0
// hands every rank its weights, optimiser state and position at the start
// (fresh or resumed), and alone evaluates and writes the run folder while
// the others wait, so the group's Timeout must exceed an evaluation.
type Group interface {
	nn.Reducer
	Rank() int
	Size() int
	// Broadcast overwrites buf with rank 0's buf on every rank.
	Broadcast(buf []float32) error
}

// Cluster is how a run was launched. LastStateFile and SummaryFile record
// it; the checkpoints do not, since they do not depend on it: a run
// resumes on any world size.
type Cluster struct {
	WorldSize int    `json:"world_size"`
	Launcher  string `json:"launcher,omitempty"`
}

// EpochRecord is one line of MetricsFile. Epochs count from 1. Seconds,
// EvalSeconds and ImgPerS are the timing fields: everything else is the
// same in every run
// of the same Config on the same SIMD path.
type EpochRecord struct {
	Epoch int     `json:"epoch"`
	LR    float64 `json:"lr"`
	Alpha float64 `json:"alpha"` // GLMC's cumulative coefficient α of the epoch (1 for ce)
	Loss  float64 `json:"loss"`  // mean training loss, weighted by batch size
	Top1  float64 `json:"top1"`  // evaluation on the test split with fc_cb, percentages
	Top5  float64 `json:"top5"`
	// Many, Medium and Few are null for a group without classes.
	Many   GroupAccuracy `json:"many"`
	Medium GroupAccuracy `json:"medium"`
	Few    GroupAccuracy `json:"few"`
	// PerClass is the top-1 accuracy of each class.
	PerClass    []float64 `json:"per_class"`
	Seconds     float64   `json:"seconds"`      // wall time of the epoch's training and evaluation
	EvalSeconds float64   `json:"eval_seconds"` // of that, the evaluation's
	ImgPerS     float64   `json:"img_per_s"`    // images through the network per second of training alone (two per sample for GLMC)
	// DataWaitSeconds is how long the training steps waited for the
	// loaders, included in the training time: 0 when loading keeps ahead.
	DataWaitSeconds float64 `json:"data_wait_seconds"`
}

// TimingFields are the JSON names of EpochRecord's timing fields, which
// differ between otherwise identical runs.
var TimingFields = []string{"seconds", "eval_seconds", "img_per_s", "data_wait_seconds"}

// Summary is the outcome of a run: the last epoch's evaluation and the
// best epoch's (the paper's tables report the best).
type Summary struct {
	Epochs int          `json:"epochs"`
	Last   EpochSummary `json:"last"`
	Best   EpochSummary `json:"best"`
	Cluster
}

// EpochSummary is the evaluation of one epoch.
type EpochSummary struct {
	Epoch  int           `json:"epoch"`
	Top1   float64       `json:"top1"`
	Top5   float64       `json:"top5"`
	Many   GroupAccuracy `json:"many"` // null for a group without classes
	Medium GroupAccuracy `json:"medium"`
	Few    GroupAccuracy `json:"few"`
}

func summaryOf(r EpochRecord) EpochSummary {
	return EpochSummary{Epoch: r.Epoch, Top1: r.Top1, Top5: r.Top5, Many: r.Many, Medium: r.Medium, Few: r.Few}
}

// String is the summary as the last line `glmc train` prints.
func (s Summary) String() string {
	return fmt.Sprintf("last epoch %d: top-1 %.2f%%; best epoch %d: top-1 %.2f%% (many %s, medium %s, few %s)",
		s.Last.Epoch, s.Last.Top1, s.Best.Epoch, s.Best.Top1, s.Best.Many, s.Best.Medium, s.Best.Few)
}

// Trainer runs the epochs of a run and keeps its folder: metrics,
// checkpoints and the summary. Everything random derives from
// (Config.Seed, epoch, step), so a run gives the same bits for any number
// of workers and threads, and a resumed run the same bits as one that
// never stopped.
type Trainer struct {
	cfg   Config
	opts  Options
	learn Learner
	state State
	group Group // nil for one process
	// The training split (long-tailed) and the loaders over it: uniform
	// (shuffled), weighted (class-weighted, GLMC only) and eval (the test
	// split in order).
	train                   *data.Dataset
	uniform, weighted, eval *data.Loader
	metrics                 []EpochRecord // MetricsFile's records so far
}

// evalBatch is the evaluation batch size: eval mode makes each image's
// logits independent of its batch, so a larger batch only saves calls.
const evalBatch = 256

// purposeInit keys the stream of the initial weights (see tensor.NewRNG).
const purposeInit uint64 = 0x1417

// NewTrainer prepares the run cfg describes on the long-tailed training
// split train and the test split test: it builds the model, optimiser and
// loaders and either starts a run in opts.Dir, which must hold none, or
// (opts.Resume) loads the checkpoint there, whose Config and data must be
// cfg's. Nothing in the folder changes until an epoch finishes.
func NewTrainer(cfg Config, train, test *data.Dataset, opts Options) (*Trainer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	info, err := data.Lookup(cfg.Dataset)
	if err != nil {
		return nil, err
	}
	if train.Channels != test.Channels || train.Height != test.Height || train.Width != test.Width || len(train.Classes) != len(test.Classes) {
		return nil, fmt.Errorf("glmc: %s: training images %dx%dx%d of %d classes, test images %dx%dx%d of %d",
			cfg.Dataset, train.Channels, train.Height, train.Width, len(train.Classes), test.Channels, test.Height, test.Width, len(test.Classes))
	}
	counts := train.ClassCounts()
	model, err := NewModel(cfg, train)
	if err != nil {
		return nil, err
	}
	t := &Trainer{cfg: cfg, opts: opts, train: train,
		state: State{Format: stateFormat, Config: cfg, TrainCounts: counts, TestImages: test.Len()}}
	t.learn = Learner{Model: model, Gamma: cfg.ContrastWeight}
	if g := opts.Group; g != nil && g.Size() > 1 {
		if err := cfg.CheckWorldSize(train, g.Size()); err != nil {
			return nil, err
		}
		t.group, t.learn.Group = g, g
		if !opts.LocalBN {
			model.SetReducer(g)
		}
	}
	// Every parameter in one group: the official optimiser decays batch
	// norm weights and biases too.
	if t.learn.Opt, err = optim.NewSGD(model.Parameters(), optim.Options{LR: cfg.LR, Momentum: cfg.Momentum, WeightDecay: cfg.WeightDecay}); err != nil {
		return nil, err
	}
	if cfg.MaxNorm > 0 {
		// As the official code: [fc_cb.weight, fc_cb.bias]; the bias, being
		// 1-D, is never scaled.
		if t.learn.MaxNorm, err = optim.NewMaxNorm(cfg.MaxNorm, model.FCCB.Weight, model.FCCB.Bias); err != nil {
			return nil, err
		}
	}
	if err := t.newLoaders(info, test); err != nil {
		return nil, err
	}
	switch {
	case t.rank() != 0:
	case opts.Resume:
		err = t.resume()
	default:
		err = t.start()
	}
	if t.group != nil {
		err = t.broadcastStart(err)
	}
	if err != nil {
		return nil, err
	}
	return t, nil
}

// CheckWorldSize fails when a step of c on the training split train would
// leave one of world ranks without a sample.
func (c Config) CheckWorldSize(train *data.Dataset, world int) error {
	n := train.Len()
	smallest := min(c.BatchSize, n)
	if r := n % c.BatchSize; r != 0 {
		smallest = r
	}
	if smallest < world {
		return fmt.Errorf("glmc: --batch-size %d over %d training images leaves a batch of %d for %d ranks: want at least one image per rank in every batch",
			c.BatchSize, n, smallest, world)
	}
	return nil
}

// rank is this process's rank, 0 for one process.
func (t *Trainer) rank() int {
	if t.group == nil {
		return 0
	}
	return t.group.Rank()
}

// cluster is how this run was launched.
func (t *Trainer) cluster() Cluster {
	c := Cluster{WorldSize: 1, Launcher: t.opts.Launcher}
	if t.group != nil {
		c.WorldSize = t.group.Size()
	}
	return c
}

// NewModel returns the model a run of cfg on the training split train
// starts from, with its initial weights, kept off the Go heap
// (nn.MoveParametersOffHeap).
func NewModel(cfg Config, train *data.Dataset) (*nn.Model, error) {
	m, err := nn.NewModel(nn.Config{Arch: cfg.Arch, NumClasses: len(train.Classes), Width: cfg.Width, Blocks: cfg.Blocks, InChannels: train.Channels},
		tensor.NewRNG(cfg.Seed, purposeInit))
	if err == nil {
		nn.MoveParametersOffHeap(m)
	}
	return m, err
}

// newLoaders makes the training loaders of the method and the evaluation
// loader.
func (t *Trainer) newLoaders(info data.Info, test *data.Dataset) error {
	cfg := t.cfg
	views := 1
	trainTF, evalTF, err := data.Recipe(info, cfg.Transform)
	if err != nil {
		return err
	}
	if cfg.Method == MethodGLMC {
		views = 2
		if t.learn.Weights, err = LabelWeights(t.state.TrainCounts, cfg.LabelWeighting); err != nil {
			return err
		}
		sampler, err := data.NewWeightedSampler(t.train.Labels, len(t.train.Classes), cfg.ResampleWeighting, cfg.Seed)
		if err != nil {
			return err
		}
		// Stream 1: the weighted loader's augmentations must not repeat
		// the uniform loader's (stream 0) for the same sample position.
		if t.weighted, err = data.NewLoader(data.LoaderConfig{Dataset: t.train, Sampler: sampler, BatchSize: cfg.BatchSize,
			Transform: trainTF, Views: 2, Workers: t.opts.Workers, Seed: cfg.Seed, Stream: 1,
			Rank: t.rank(), World: t.cluster().WorldSize}); err != nil {
			return err
		}
	}
	if t.uniform, err = data.NewLoader(data.LoaderConfig{Dataset: t.train, Sampler: data.ShuffleSampler{N: t.train.Len(), Seed: cfg.Seed},
		BatchSize: cfg.BatchSize, Transform: trainTF, Views: views, Workers: t.opts.Workers, Seed: cfg.Seed,
		Rank: t.rank(), World: t.cluster().WorldSize}); err != nil {
		return err
	}
	t.eval, err = data.NewLoader(data.LoaderConfig{Dataset: test, Sampler: data.SequentialSampler{N: test.Len()},
		BatchSize: evalBatch, Transform: evalTF, Workers: t.opts.Workers})
	return err
}

// runFiles are the files whose presence means a folder holds a run.
var runFiles = []string{LastFile, MetricsFile, BestFile}

// start checks that the run folder holds no run and creates it.
func (t *Trainer) start() error {
	for _, name := range runFiles {
		if _, err := os.Stat(filepath.Join(t.opts.Dir, name)); err == nil {
			return fmt.Errorf("glmc: %s already holds a run (%s): pass --resume to continue it, or choose another --out", t.opts.Dir, name)
		}
	}
	if err := os.MkdirAll(t.opts.Dir, 0o755); err != nil {
		return fmt.Errorf("glmc: %w", err)
	}
	return nil
}

// resume loads the run folder's checkpoint into the trainer.
func (t *Trainer) resume() error {
	path := filepath.Join(t.opts.Dir, LastFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("glmc: --resume: no checkpoint %s (the run has not finished an epoch yet, or --out is wrong)", path)
	}
	if err != nil {
		return fmt.Errorf("glmc: %w", err)
	}
	weights, st, err := decodeRun(path, b)
	if err != nil {
		return err
	}
	if field := configDiff(st.Config, t.cfg); field != "" {
		return fmt.Errorf("glmc: --resume: %s differs from the saved run's (%s)", field, path)
	}
	if !slices.Equal(st.TrainCounts, t.state.TrainCounts) || st.TestImages != t.state.TestImages {
		return fmt.Errorf("glmc: --resume: the data differ from the saved run's: training images per class %v and %d test images, saved %v and %d (%s)",
			t.state.TrainCounts, t.state.TestImages, st.TrainCounts, st.TestImages, path)
	}
	if st.Epoch < 0 || st.Epoch > t.cfg.Epochs || st.Step != 0 {
		return fmt.Errorf("glmc: %s: position epoch %d step %d is not a checkpoint of a %d-epoch run", path, st.Epoch, st.Step, t.cfg.Epochs)
	}
	if err := nn.LoadState(t.learn.Model, weights); err != nil {
		return fmt.Errorf("%w (in %s)", err, path)
	}
	if st.Optimizer != filepath.Base(st.Optimizer) || st.Optimizer == "" {
		return fmt.Errorf("glmc: %s: optimiser file %q is not a file name", path, st.Optimizer)
	}
	if err := readOptimizer(filepath.Join(t.opts.Dir, st.Optimizer), &t.learn); err != nil {
		return err
	}
	if t.metrics, err = readMetrics(filepath.Join(t.opts.Dir, MetricsFile), st.Epoch); err != nil {
		return err
	}
	t.state = *st
	return nil
}

// configDiff names the first flag whose value differs between a and b, ""
// if none does.
func configDiff(a, b Config) string {
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	for i := range va.NumField() {
		if !reflect.DeepEqual(va.Field(i).Interface(), vb.Field(i).Interface()) {
			name, _, _ := strings.Cut(va.Type().Field(i).Tag.Get("json"), ",")
			return fmt.Sprintf("--%s %v", strings.ReplaceAll(name, "_", "-"), vb.Field(i).Interface())
		}
	}
	return ""
}

// Model is the model being trained.
func (t *Trainer) Model() *nn.Model { return t.learn.Model }

// State is where the run stands.
func (t *Trainer) State() State { return t.state }

// Done reports whether every epoch has run.
func (t *Trainer) Done() bool { return t.state.Epoch >= t.cfg.Epochs }

// Run trains the remaining epochs, then writes SummaryFile and returns the
// summary. It stops early with an error when ctx is cancelled (between
// steps) or a step fails; the folder then holds the last finished epoch.
// Ranks other than 0, which keep no records, return a zero Summary.
func (t *Trainer) Run(ctx context.Context) (Summary, error) {
	for !t.Done() {
		if _, err := t.RunEpoch(ctx); err != nil {
			return Summary{}, err
		}
	}
	if t.rank() != 0 {
		return Summary{}, nil
	}
	s, err := t.Summary()
	if err != nil {
		return s, err
	}
	return s, writeJSON(filepath.Join(t.opts.Dir, SummaryFile), s)
}

// Summary summarises the finished epochs.
func (t *Trainer) Summary() (Summary, error) {
	if len(t.metrics) == 0 {
		return Summary{}, fmt.Errorf("glmc: %s: no finished epoch to summarise", t.opts.Dir)
	}
	best := t.metrics[0]
	for _, r := range t.metrics[1:] {
		if r.Top1 > best.Top1 { // the first of equals, as the official best_acc1
			best = r
		}
	}
	return Summary{Epochs: t.cfg.Epochs, Last: summaryOf(t.metrics[len(t.metrics)-1]), Best: summaryOf(best), Cluster: t.cluster()}, nil
}

// RunEpoch trains the next epoch, evaluates the model and saves the
// checkpoint, and returns the epoch's record. On an error (ctx cancelled,
// a non-finite loss) nothing is saved: the folder keeps the previous
// checkpoint. On ranks other than 0 it only trains: the record holds no
// evaluation, and the rank waits until rank 0 has saved the checkpoint.
func (t *Trainer) RunEpoch(ctx context.Context) (EpochRecord, error) {
	if t.Done() {
		return EpochRecord{}, fmt.Errorf("glmc: RunEpoch: all %d epochs have run", t.cfg.Epochs)
	}
	start := time.Now()
	epoch := t.state.Epoch
	rec := EpochRecord{Epoch: epoch + 1, LR: t.cfg.LRSchedule().LR(epoch), Alpha: 1}
	if t.cfg.Method == MethodGLMC {
		rec.Alpha = Alpha(epoch, t.cfg.Epochs)
	}
	t.learn.Opt.SetLR(rec.LR)
	t.learn.Model.Train(true)

	steps := t.uniform.NumBatches()
	perSample := 1 // images through the network per training sample
	loaders := []*data.Loader{t.uniform}
	if t.cfg.Method == MethodGLMC {
		perSample = 2
		loaders = append(loaders, t.weighted)
	}
	bar := t.newBar(epoch, t.train.Len()*perSample)
	var lossSum float64
	var samples int
	var wait time.Duration // between the end of a step (or the start) and the next batches
	ready := time.Now()
	for batches := range data.Zip(epoch, t.state.Step, loaders...) {
		wait += time.Since(ready)
		step := batches[0].Index
		if err := ctx.Err(); err != nil {
			return rec, fmt.Errorf("glmc: epoch %d stopped at step %d: %w (%s)", epoch+1, step+1, err, t.kept())
		}
		for _, b := range batches {
			if b.Err != nil { // an image file that does not decode
				return rec, fmt.Errorf("glmc: epoch %d, step %d of %d: %w; the run stops (%s)", epoch+1, step+1, steps, b.Err, t.kept())
			}
		}
		loss, err := t.step(epoch, batches, rec.Alpha)
		if err != nil {
			return rec, fmt.Errorf("glmc: epoch %d, step %d of %d: %w; the run stops (%s)", epoch+1, step+1, steps, err, t.kept())
		}
		n := min(t.cfg.BatchSize, t.train.Len()-step*t.cfg.BatchSize) // the global batch
		lossSum += float64(loss) * float64(n)
		samples += n
		if bar != nil {
			bar.Describe(fmt.Sprintf("epoch %d/%d loss %.4f", epoch+1, t.cfg.Epochs, lossSum/float64(samples)))
			bar.Add(n * perSample)
		}
		ready = time.Now()
	}
	trainTime := time.Since(start).Seconds()
	rec.DataWaitSeconds = math.Round(wait.Seconds()*100) / 100
	if bar != nil {
		bar.Finish()
	}
	rec.Loss = lossSum / float64(samples)
	rec.ImgPerS = math.Round(float64(samples*perSample)/trainTime*10) / 10
	if t.rank() != 0 {
		t.state.Epoch++
		return rec, t.agree(nil)
	}
	t.learn.freeArena()
	err := t.evaluateAndSave(&rec, start)
	if t.group != nil {
		err = t.agree(err)
	}
	if err != nil {
		return rec, err
	}
	if t.opts.Log != nil {
		fmt.Fprintf(t.opts.Log, "epoch %d/%d  lr %.5f  loss %.4f  top-1 %.2f  top-5 %.2f  many %s  medium %s  few %s  %.1fs  %.1f img/s\n",
			rec.Epoch, t.cfg.Epochs, rec.LR, rec.Loss, rec.Top1, rec.Top5, rec.Many, rec.Medium, rec.Few, rec.Seconds, rec.ImgPerS)
	}
	return rec, nil
}

// evaluateAndSave evaluates the model into rec and saves the checkpoint of
// the epoch that started at start.
func (t *Trainer) evaluateAndSave(rec *EpochRecord, start time.Time) error {
	evalStart := time.Now()
	res, err := Evaluate(t.learn.Model, t.eval, t.state.TrainCounts)
	if err != nil {
		return fmt.Errorf("glmc: epoch %d: %w", rec.Epoch, err)
	}
	rec.Top1, rec.Top5, rec.Many, rec.Medium, rec.Few, rec.PerClass = res.Top1, res.Top5, res.Many, res.Medium, res.Few, res.PerClass
	rec.EvalSeconds = math.Round(time.Since(evalStart).Seconds()*100) / 100
	rec.Seconds = math.Round(time.Since(start).Seconds()*100) / 100
	return t.save(*rec)
}

// step runs the method's step on the batches data.Zip yielded for it
// (uniform, then class-weighted for GLMC) and returns the loss.
func (t *Trainer) step(epoch int, batches []*data.Batch, alpha float64) (float32, error) {
	u := batches[0]
	if t.cfg.Method == MethodCE {
		return t.learn.CEStep(u.Views[0], u.Labels)
	}
	d := Draw(t.cfg.Seed, epoch, u.Index, t.train.Height, t.train.Width)
	terms, err := t.learn.GLMCStep(PairOf(u, batches[1]), d, alpha)
	return terms.Total.Value.Data[0], err
}

// kept says what the run folder holds after a failed epoch. Only rank 0
// writes one, so the other ranks point there rather than at their own
// Dir, which does not exist.
func (t *Trainer) kept() string {
	if t.state.Epoch == 0 {
		return "no epoch had finished, so there is no checkpoint"
	}
	dir := t.opts.Dir
	if t.rank() != 0 {
		dir = "rank 0's run folder"
	}
	return fmt.Sprintf("%s keeps epoch %d; continue with --resume", dir, t.state.Epoch)
}

// newBar returns the progress bar of an epoch that puts images through
// the network, or nil without a Progress writer.
func (t *Trainer) newBar(epoch, images int) *progressbar.ProgressBar {
	if t.opts.Progress == nil {
		return nil
	}
	return progressbar.NewOptions(images,
		progressbar.OptionSetWriter(t.opts.Progress),
		progressbar.OptionSetDescription(fmt.Sprintf("epoch %d/%d", epoch+1, t.cfg.Epochs)),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("img"),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)
}

// save writes the checkpoint of the epoch just finished, in an order that
// keeps the folder consistent if the process dies between any two files:
// the metrics (lines past LastFile's epoch are dropped on resume), the best
// model, the optimiser state under a new name, LastFile (the commit point),
// last.json, and finally the removal of older optimiser files.
func (t *Trainer) save(rec EpochRecord) error {
	dir := t.opts.Dir
	st := t.state
	st.Epoch, st.Step = st.Epoch+1, 0
	st.Optimizer = optimizerFile(st.Epoch)
	improved := st.BestEpoch == 0 || rec.Top1 > st.BestTop1
	if improved {
		st.BestEpoch, st.BestTop1 = rec.Epoch, rec.Top1
	}
	metrics := append(slices.Clip(t.metrics), rec)
	if err := writeMetrics(filepath.Join(dir, MetricsFile), metrics); err != nil {
		return err
	}
	if improved {
		if err := writeModel(filepath.Join(dir, BestFile), t.learn.Model, &st); err != nil {
			return err
		}
	}
	if err := writeOptimizer(filepath.Join(dir, st.Optimizer), &t.learn); err != nil {
		return err
	}
	if err := writeModel(filepath.Join(dir, LastFile), t.learn.Model, &st); err != nil {
		return err
	}
	t.state, t.metrics = st, metrics
	if err := writeJSON(filepath.Join(dir, LastStateFile), lastState{&st, t.cluster(), t.opts.DataDir}); err != nil {
		return err
	}
	// Older optimiser files: the previous checkpoint's, and any left by a
	// process that died before its LastFile.
	stale, _ := filepath.Glob(filepath.Join(dir, optimizerPrefix+"*"+optimizerSuffix))
	for _, f := range stale {
		if filepath.Base(f) != st.Optimizer {
			if err := os.Remove(f); err != nil {
				return fmt.Errorf("glmc: %w", err)
			}
		}
	}
	return nil
}
