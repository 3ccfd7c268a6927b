package nn

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/glmc/glmc/autograd"
	"github.com/glmc/glmc/tensor"
)

// block kinds of the official GLMC-2023/model/ResNet_cifar.py.
const (
	blockA          = "BasicBlock_s" // ResNet_modify: two 3×3 convs, option-A shortcut
	blockBasic      = "BasicBlock"   // ResNet: two 3×3 convs, option-B shortcut
	blockBottleneck = "BottleNeck"   // ResNet: 1×1, 3×3, 1×1 (×4), option-B shortcut
	blockLT         = "Bottleneck"   // Resnet_LT.py's ResNet: 1×1, grouped 3×3, 1×1 (×4), downsample
)

// archSpec is one official constructor.
type archSpec struct {
	block  string
	blocks []int // per stage
	head   int   // official projection/contrast head width
	// groups and widthPerGroup are the ResNeXt parameters of blockLT
	// (cardinality and base width; 1 and 64 for ResNet-50), 0 elsewhere.
	groups, widthPerGroup int
}

// archs lists the official constructors by name.
var archs = map[string]archSpec{
	"resnet32":  {blockA, []int{5, 5, 5}, 128, 0, 0},
	"resnet18":  {blockBasic, []int{2, 2, 2, 2}, 256, 0, 0},
	"resnet34":  {blockBasic, []int{3, 4, 6, 3}, 256, 0, 0},
	"resnet50":  {blockBottleneck, []int{3, 4, 6, 3}, 256, 0, 0},
	"resnet101": {blockBottleneck, []int{3, 4, 23, 3}, 256, 0, 0},
	"resnet152": {blockBottleneck, []int{3, 8, 36, 3}, 256, 0, 0},
	// GLMC-2023/model/Resnet_LT.py, the ImageNet-LT and iNaturalist
	// models; its resnet50 is named resnet50_lt here, resnet50 being
	// ResNet_cifar.py's.
	"resnet50_lt":     {blockLT, []int{3, 4, 6, 3}, 256, 1, 64},
	"resnext50_32x4d": {blockLT, []int{3, 4, 6, 3}, 256, 32, 4},
}

// familyArch names an architecture of each block kind, for models whose
// block counts match no official constructor.
var familyArch = map[string]string{blockA: "resnet32", blockBasic: "resnet18", blockBottleneck: "resnet50", blockLT: "resnext50_32x4d"}

// Archs returns the architecture names NewModel accepts, sorted.
func Archs() []string {
	names := make([]string, 0, len(archs))
	for name := range archs {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// DefaultWidth is the official width nf of every architecture: the
// channels of the first stage (ResNet_modify's nf = 64; the ResNet classes
// fix 64).
const DefaultWidth = 64

// Config selects a model. Zero fields take the official values.
type Config struct {
	Arch       string // an Archs() entry
	NumClasses int    // outputs of fc and fc_cb; required
	Width      int    // nf, the channels of the first stage (stage i has nf·2^i planes); default 64
	HeadWidth  int    // outputs of projection_head.0 and size of contrast_head.0; default 128 for resnet32, 256 for the others
	InChannels int    // channels of the input images (conv1's input); default 3, 1 for grey-scale data such as Fashion-MNIST
	// Blocks overrides the number of blocks per stage (as many stages as
	// the architecture has); nil keeps the official counts. Small test
	// models use it.
	Blocks []int
	// Groups and WidthPerGroup are the cardinality and base width of the
	// Resnet_LT.py bottlenecks, whose grouped 3×3 convolution has
	// ⌊planes·WidthPerGroup/64⌋·Groups channels; zero takes the
	// architecture's (32 and 4 for resnext50_32x4d, 1 and 64 for
	// resnet50_lt). Other architectures have no groups.
	Groups, WidthPerGroup int
}

// withDefaults fills the zero fields and checks the result.
func (c Config) withDefaults() (Config, archSpec, error) {
	spec, ok := archs[c.Arch]
	if !ok {
		return c, spec, fmt.Errorf("nn: unknown architecture %q (known: %s)", c.Arch, strings.Join(Archs(), ", "))
	}
	if c.Width == 0 {
		c.Width = DefaultWidth
	}
	if c.HeadWidth == 0 {
		c.HeadWidth = spec.head
	}
	if c.InChannels == 0 {
		c.InChannels = 3
	}
	if c.Blocks == nil {
		c.Blocks = slices.Clone(spec.blocks)
	}
	if spec.block == blockLT {
		if c.Groups == 0 {
			c.Groups = spec.groups
		}
		if c.WidthPerGroup == 0 {
			c.WidthPerGroup = spec.widthPerGroup
		}
	}
	switch {
	case c.NumClasses <= 0:
		return c, spec, fmt.Errorf("nn: %s: number of classes %d, want at least 1", c.Arch, c.NumClasses)
	case c.Width < 0 || c.HeadWidth < 0 || c.InChannels < 0:
		return c, spec, fmt.Errorf("nn: %s: width %d, head width %d, input channels %d: want positive sizes", c.Arch, c.Width, c.HeadWidth, c.InChannels)
	case spec.block == blockA && c.Width%2 != 0:
		return c, spec, fmt.Errorf("nn: %s: width %d must be even (option-A shortcuts pad 2·width/4 channels on each side)", c.Arch, c.Width)
	case spec.block != blockLT && (c.Groups != 0 || c.WidthPerGroup != 0):
		return c, spec, fmt.Errorf("nn: %s: groups %d, width per group %d: only the Resnet_LT.py architectures (resnet50_lt, resnext50_32x4d) have groups", c.Arch, c.Groups, c.WidthPerGroup)
	case spec.block == blockLT && (c.Groups < 0 || c.WidthPerGroup < 0 || c.Width*c.WidthPerGroup < 64):
		return c, spec, fmt.Errorf("nn: %s: width %d, groups %d, width per group %d: want positive sizes with width·(width per group) ≥ 64, so that every bottleneck has channels", c.Arch, c.Width, c.Groups, c.WidthPerGroup)
	case len(c.Blocks) != len(spec.blocks):
		return c, spec, fmt.Errorf("nn: %s: %d stages of blocks %v, want %d", c.Arch, len(c.Blocks), c.Blocks, len(spec.blocks))
	}
	for _, b := range c.Blocks {
		if b <= 0 {
			return c, spec, fmt.Errorf("nn: %s: blocks %v: every stage needs at least one block", c.Arch, c.Blocks)
		}
	}
	return c, spec, nil
}

// Model is one of the official GLMC networks: a trunk (stem, stages,
// global average pooling) giving a feature vector f, and four heads on it:
// fc and fc_cb (class logits), projection_head (z) and contrast_head (p on
// z). It is a Module whose Forward gives the fc_cb logits.
type Model struct {
	Config         Config      // with the defaults filled in
	Trunk          *Sequential // (N, InChannels, H, W) → f (N, FeatureDim)
	FC             *Linear     // f → balanced logits (N, classes)
	FCCB           *Linear     // f → re-balanced logits (N, classes), "fc_cb"
	ContrastHead   *Sequential // Linear(head, head): z → p, "contrast_head"
	ProjectionHead *Sequential // Linear(FeatureDim, head): f → z, "projection_head"
}

// NewModel builds the model cfg describes, initialised from rng as its
// official class does:
//
//   - resnet32 (ResNet_modify) applies kaiming_normal_ (fan_in, gain √2) to
//     the weight of every Conv2d and Linear; Linear biases keep PyTorch's
//     default U(±1/√fan_in).
//   - resnet18/34/50/101/152 (the ResNet class) keep PyTorch's defaults:
//     Conv2d and Linear weights and Linear biases U(±1/√fan_in).
//   - resnet50_lt and resnext50_32x4d (Resnet_LT.py's ResNet) apply
//     kaiming_normal_ (fan_out, gain √2) to every Conv2d weight; the Linear
//     layers keep PyTorch's defaults.
//
// Batch norms start with weight 1, bias 0, running mean 0 and running
// variance 1 in both. The model starts in training mode.
func NewModel(cfg Config, rng *tensor.RNG) (*Model, error) {
	cfg, spec, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	m := &Model{Config: cfg}
	var dim int
	switch spec.block {
	case blockA:
		m.Trunk, dim = newTrunkA(rng, cfg)
	case blockLT:
		m.Trunk, dim = newTrunkLT(rng, cfg)
	default:
		m.Trunk, dim = newTrunkB(rng, cfg, spec.block)
	}
	// The official module order: fc, fc_cb, contrast_head, projection_head.
	m.FC = NewLinear(rng, dim, cfg.NumClasses)
	m.FCCB = NewLinear(rng, dim, cfg.NumClasses)
	m.ContrastHead = NewSequential(NewLinear(rng, cfg.HeadWidth, cfg.HeadWidth))
	m.ProjectionHead = NewSequential(NewLinear(rng, dim, cfg.HeadWidth))
	switch spec.block {
	case blockA:
		m.Visit("", func(e Entry) {
			if e.Param != nil && strings.HasSuffix(e.Name, "weight") && e.Param.Value.Dim() >= 2 {
				kaimingNormal(rng, e.Param.Value, fanIn(e.Param.Value))
			}
		})
	case blockLT:
		m.Visit("", func(e Entry) {
			if e.Param != nil && e.Param.Value.Dim() == 4 {
				kaimingNormal(rng, e.Param.Value, fanOut(e.Param.Value))
			}
		})
	}
	return m, nil
}

// newTrunkA is ResNet_modify up to the pooled feature: conv1, bn1, ReLU,
// layer1..3 of BasicBlock_s at widths nf, 2nf, 4nf, avg_pool2d.
func newTrunkA(rng *tensor.RNG, cfg Config) (*Sequential, int) {
	nf := cfg.Width
	trunk := &Sequential{
		Layers: []Module{NewConv2d(rng, cfg.InChannels, nf, 3, 1, 1, false), NewBatchNorm2d(nf), ReLU{}},
		Names:  []string{"conv1", "bn1", "relu"},
	}
	in := nf
	for i, n := range cfg.Blocks {
		planes := nf << i
		stage := NewSequential()
		for j := range n {
			stage.Layers = append(stage.Layers, NewBasicBlockA(rng, in, planes, blockStride(i, j)))
			in = planes
		}
		trunk.Layers = append(trunk.Layers, stage)
		trunk.Names = append(trunk.Names, fmt.Sprintf("layer%d", i+1))
	}
	trunk.Layers = append(trunk.Layers, GlobalAvgPool{})
	trunk.Names = append(trunk.Names, "avg_pool")
	return trunk, in
}

// blockStride is the stride of block j of stage i in every official
// network: 2 for the first block of every stage but the first, else 1.
func blockStride(i, j int) int {
	if i > 0 && j == 0 {
		return 2
	}
	return 1
}

// newTrunkB is the ResNet class up to the pooled feature: conv1 =
// Sequential(3×3 conv, BN, ReLU), conv2_x..conv5_x at widths nf..8nf (×4
// for bottlenecks), AdaptiveAvgPool2d(1).
func newTrunkB(rng *tensor.RNG, cfg Config, block string) (*Sequential, int) {
	nf := cfg.Width
	trunk := &Sequential{
		Layers: []Module{NewSequential(NewConv2d(rng, cfg.InChannels, nf, 3, 1, 1, false), NewBatchNorm2d(nf), ReLU{})},
		Names:  []string{"conv1"},
	}
	newBlock := NewBasicBlock
	if block == blockBottleneck {
		newBlock = NewBottleneck
	}
	in := appendStages(trunk, nf, cfg.Blocks, "conv%d_x", 2, func(in, planes, stride int) *ResidualBlock {
		return newBlock(rng, in, planes, stride)
	})
	trunk.Layers = append(trunk.Layers, GlobalAvgPool{})
	trunk.Names = append(trunk.Names, "avg_pool")
	return trunk, in
}

// appendStages appends to trunk, which ends with in channels, the stages
// of residual blocks of a ResNet, blocks[i] in stage i, named by format
// with the stage number (from first); stage i has in·2^i planes and its
// first block the stride blockStride gives. It returns the channels of
// the last stage.
func appendStages(trunk *Sequential, in int, blocks []int, format string, first int, newBlock func(in, planes, stride int) *ResidualBlock) int {
	nf := in
	for i, n := range blocks {
		stage := NewSequential()
		for j := range n {
			b := newBlock(in, nf<<i, blockStride(i, j))
			stage.Layers = append(stage.Layers, b)
			in = b.OutChannels()
		}
		trunk.Layers = append(trunk.Layers, stage)
		trunk.Names = append(trunk.Names, fmt.Sprintf(format, i+first))
	}
	return in
}

// Outputs are the four GLMC heads of one forward pass, and the feature
// they share.
type Outputs struct {
	FC      *autograd.Var // (N, classes) balanced logits
	FCCB    *autograd.Var // (N, classes) re-balanced logits
	Z       *autograd.Var // (N, head) projection
	P       *autograd.Var // (N, head) prediction, contrast_head(z)
	Feature *autograd.Var // (N, FeatureDim) pooled trunk output
}

// Features returns the pooled feature f (N, FeatureDim) of x (N, InChannels, H, W).
func (m *Model) Features(x *autograd.Var) *autograd.Var { return m.Trunk.Forward(x) }

// Heads runs all four heads, the official forward(x, train=True), which
// returns (fc, fc_cb, z, p).
func (m *Model) Heads(x *autograd.Var) Outputs {
	f := m.Features(x)
	z := m.ProjectionHead.Forward(f)
	return Outputs{FC: m.FC.Forward(f), FCCB: m.FCCB.Forward(f), Z: z, P: m.ContrastHead.Forward(z), Feature: f}
}

// Forward returns the fc_cb logits (N, classes) of x (N, InChannels, H, W), the
// official forward(x) used for evaluation.
func (m *Model) Forward(x *autograd.Var) *autograd.Var { return m.FCCB.Forward(m.Features(x)) }

// Infer returns the fc_cb logits (N, classes) of x (N, InChannels, H, W)
// as Forward does in the model's current mode (eval mode for evaluation),
// without recording gradients, and with every tensor of the pass, the
// logits included, from the arena a, which it resets first: the logits
// are valid until the next Infer or Reset of a. Passes after the first
// on the same arena and batch shape take all their storage from it, so
// an evaluation allocates (almost) nothing per batch; a nil a allocates
// afresh.
func (m *Model) Infer(a *tensor.Arena, x *tensor.Tensor) *tensor.Tensor {
	a.Reset()
	var logits *tensor.Tensor
	autograd.NoGrad(m.Parameters(), func() { logits = m.Forward(autograd.ConstIn(a, x)).Value })
	return logits
}

// FeatureDim is the width of the pooled feature: 4·nf for resnet32,
// 8·nf (×4 for bottlenecks) for the others.
func (m *Model) FeatureDim() int { return m.FC.Weight.Value.Shape[1] }

// Train switches every batch norm to training (true) or eval (false) mode.
func (m *Model) Train(on bool) {
	m.Trunk.Train(on)
}

// Visit visits the state dict in the official order: trunk, fc, fc_cb,
// contrast_head, projection_head.
func (m *Model) Visit(prefix string, fn func(Entry)) {
	m.Trunk.Visit(prefix, fn)
	m.FC.Visit(prefix+"fc.", fn)
	m.FCCB.Visit(prefix+"fc_cb.", fn)
	m.ContrastHead.Visit(prefix+"contrast_head.", fn)
	m.ProjectionHead.Visit(prefix+"projection_head.", fn)
}

// Parameters returns every trainable parameter in state-dict order.
func (m *Model) Parameters() []*autograd.Var { return parameters(m) }

// BasicBlockA is BasicBlock_s of the official ResNet_modify:
// relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)), with the option-A
// shortcut when the stride or the width changes and identity otherwise.
type BasicBlockA struct {
	Conv1    *Conv2d      // 3×3, stride
	BN1      *BatchNorm2d //
	Conv2    *Conv2d      // 3×3
	BN2      *BatchNorm2d //
	Shortcut Module       // ShortcutA, or nil for identity
}

// NewBasicBlockA returns BasicBlock_s(in, planes, stride) with PyTorch's
// default initialisation.
func NewBasicBlockA(rng *tensor.RNG, in, planes, stride int) *BasicBlockA {
	b := &BasicBlockA{
		Conv1: NewConv2d(rng, in, planes, 3, stride, 1, false), BN1: NewBatchNorm2d(planes),
		Conv2: NewConv2d(rng, planes, planes, 3, 1, 1, false), BN2: NewBatchNorm2d(planes),
	}
	if stride != 1 || in != planes {
		b.Shortcut = ShortcutA{Pad: planes / 4}
	}
	return b
}

// Forward maps x (N, in, H, W) to (N, planes, H/stride, W/stride).
func (b *BasicBlockA) Forward(x *autograd.Var) *autograd.Var {
	h := convBN(b.Conv1, b.BN1, x, nil, true)
	s := shortcut(b.Shortcut, x)
	y := convBN(b.Conv2, b.BN2, h, s, true)
	releaseConsumed(h, y)
	if s != x {
		releaseConsumed(s, y)
	}
	return y
}

// shortcut applies s to x, or returns x when s is nil (identity).
func shortcut(s Module, x *autograd.Var) *autograd.Var {
	if s == nil {
		return x
	}
	return s.Forward(x)
}

// Train sets the mode of both batch norms.
func (b *BasicBlockA) Train(on bool) {
	b.BN1.Train(on)
	b.BN2.Train(on)
}

// Visit visits conv1, bn1, conv2, bn2 (the shortcut has no state).
func (b *BasicBlockA) Visit(prefix string, fn func(Entry)) {
	b.Conv1.Visit(prefix+"conv1.", fn)
	b.BN1.Visit(prefix+"bn1.", fn)
	b.Conv2.Visit(prefix+"conv2.", fn)
	b.BN2.Visit(prefix+"bn2.", fn)
}

// Parameters returns the block's parameters in state-dict order.
func (b *BasicBlockA) Parameters() []*autograd.Var { return parameters(b) }

// ResidualBlock is BasicBlock or BottleNeck of the official ResNet class:
// relu(residual_function(x) + shortcut(x)), where residual_function ends
// with a BatchNorm2d and shortcut is empty (identity) or the option-B
// Sequential(1×1 conv, BN).
type ResidualBlock struct {
	Function *Sequential // residual_function
	Shortcut *Sequential // shortcut; no layers for identity
	// names are the state-dict names of Function and Shortcut:
	// "residual_function" and "shortcut" in ResNet_cifar.py; "" (the
	// layers named conv1, bn1, ... directly) and "downsample" in
	// Resnet_LT.py.
	names [2]string
}

// NewBasicBlock returns BasicBlock(in, planes, stride): 3×3 conv (stride),
// BN, ReLU, 3×3 conv, BN.
func NewBasicBlock(rng *tensor.RNG, in, planes, stride int) *ResidualBlock {
	return newResidualBlock(rng, in, planes, stride, NewSequential(
		NewConv2d(rng, in, planes, 3, stride, 1, false), NewBatchNorm2d(planes), ReLU{},
		NewConv2d(rng, planes, planes, 3, 1, 1, false), NewBatchNorm2d(planes),
	))
}

// NewBottleneck returns BottleNeck(in, planes, stride): 1×1 conv, BN,
// ReLU, 3×3 conv (stride), BN, ReLU, 1×1 conv to 4·planes, BN.
func NewBottleneck(rng *tensor.RNG, in, planes, stride int) *ResidualBlock {
	return newResidualBlock(rng, in, planes, stride, NewSequential(
		NewConv2d(rng, in, planes, 1, 1, 0, false), NewBatchNorm2d(planes), ReLU{},
		NewConv2d(rng, planes, planes, 3, stride, 1, false), NewBatchNorm2d(planes), ReLU{},
		NewConv2d(rng, planes, 4*planes, 1, 1, 0, false), NewBatchNorm2d(4*planes),
	))
}

// newResidualBlock adds the shortcut the official blocks use: option B
// when the stride or the width changes.
func newResidualBlock(rng *tensor.RNG, in, planes, stride int, function *Sequential) *ResidualBlock {
	b := &ResidualBlock{Function: function, Shortcut: NewSequential(), names: [2]string{"residual_function.", "shortcut."}}
	if out := b.OutChannels(); stride != 1 || in != out {
		b.Shortcut = NewShortcutB(rng, in, out, stride)
	}
	return b
}

// OutChannels is the number of channels the block produces.
func (b *ResidualBlock) OutChannels() int {
	return b.lastBN().Weight.Value.Numel()
}

func (b *ResidualBlock) lastBN() *BatchNorm2d {
	bn, ok := b.Function.Layers[len(b.Function.Layers)-1].(*BatchNorm2d)
	if !ok {
		panic("nn: ResidualBlock: residual_function must end with a BatchNorm2d")
	}
	return bn
}

// Forward maps x (N, in, H, W) to (N, out, H/stride, W/stride); the last
// batch norm, the addition and the ReLU run as one op, with the
// convolution before them when there is one (convBN).
func (b *ResidualBlock) Forward(x *autograd.Var) *autograd.Var {
	layers, bn := b.Function.Layers, b.lastBN()
	last := len(layers) - 1
	var h, y *autograd.Var
	s := b.Shortcut.Forward(x)
	if conv, ok := at(layers, last-1).(*Conv2d); ok && last > 0 {
		h = runLayers(layers[:last-1], x)
		y = convBN(conv, bn, h, s, true)
	} else {
		h = runLayers(layers[:last], x)
		y = bn.forward(h, s, true)
	}
	for _, v := range []*autograd.Var{h, s} {
		if v != x {
			releaseConsumed(v, y)
		}
	}
	return y
}

// Train sets the mode of every batch norm.
func (b *ResidualBlock) Train(on bool) {
	b.Function.Train(on)
	b.Shortcut.Train(on)
}

// Visit visits residual_function and shortcut (the layers of the
// function, then downsample, for a Resnet_LT.py bottleneck).
func (b *ResidualBlock) Visit(prefix string, fn func(Entry)) {
	b.Function.Visit(prefix+b.names[0], fn)
	b.Shortcut.Visit(prefix+b.names[1], fn)
}

// Parameters returns the block's parameters in state-dict order.
func (b *ResidualBlock) Parameters() []*autograd.Var { return parameters(b) }
