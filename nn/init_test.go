package nn

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/glmc/glmc/tensor"
)

// initStats summarises the values of one initialised tensor.
type initStats struct {
	n              int
	mean, meanSq   float64 // sample mean of w and of w²
	maxAbs         float64
	allOnes, zeros bool
}

func statsOf(w []float32) initStats {
	s := initStats{n: len(w), allOnes: true, zeros: true}
	for _, v := range w {
		x := float64(v)
		s.mean += x
		s.meanSq += x * x
		s.maxAbs = math.Max(s.maxAbs, math.Abs(x))
		s.allOnes = s.allOnes && v == 1
		s.zeros = s.zeros && v == 0
	}
	s.mean /= float64(s.n)
	s.meanSq /= float64(s.n)
	return s
}

// An initRule is one way PyTorch can initialise a tensor. fits reports
// why the values do not look drawn from it ("" if they do), for a tensor
// whose layer has fan_in inputs. The bounds are six standard errors of the
// estimates, so a correct rule fails with odds below 1e-8 per check, while
// a wrong one fails at the sizes of these models: the kaiming normal
// (variance 2/fan_in) and the default uniform (bound 1/√fan_in, variance
// 1/(3·fan_in)) differ sixfold in variance, and a normal sample of 30 or
// more has some |w| beyond 1/√fan_in with odds 1 − 0.52^30.
type initRule struct {
	name string
	fits func(s initStats, fanIn int) string
}

var (
	// ruleKaimingNormal is init.kaiming_normal_ with gain √2: N(0, 2/fan),
	// fan being fan_in (its default mode) or fan_out, as the caller says.
	ruleKaimingNormal = initRule{"kaiming-normal(N(0, 2/fan))", func(s initStats, fanIn int) string {
		v := 2 / float64(fanIn)
		bound := 1 / math.Sqrt(float64(fanIn))
		switch {
		case math.Abs(s.meanSq-v) > 6*v*math.Sqrt(2/float64(s.n)):
			return fmt.Sprintf("mean w² %.4g, want %.4g", s.meanSq, v)
		case math.Abs(s.mean) > 6*math.Sqrt(v/float64(s.n)):
			return fmt.Sprintf("mean %.4g, want 0", s.mean)
		case s.maxAbs <= bound:
			return fmt.Sprintf("max|w| %.4g within 1/√fan_in = %.4g, as no normal sample of %d would be", s.maxAbs, bound, s.n)
		}
		return ""
	}}
	// ruleUniform is PyTorch's default for Conv2d and Linear weights
	// (kaiming_uniform_ with a = √5) and biases: U(−1/√fan_in, 1/√fan_in).
	ruleUniform = initRule{"uniform(±1/√fan_in)", func(s initStats, fanIn int) string {
		bound := 1 / math.Sqrt(float64(fanIn))
		v := bound * bound / 3
		switch {
		case s.maxAbs > bound*(1+1e-6):
			return fmt.Sprintf("max|w| %.4g beyond the bound %.4g", s.maxAbs, bound)
		case math.Abs(s.meanSq-v) > 6*bound*bound*math.Sqrt(4/45.0/float64(s.n)):
			return fmt.Sprintf("mean w² %.4g, want %.4g", s.meanSq, v)
		case math.Abs(s.mean) > 6*math.Sqrt(v/float64(s.n)):
			return fmt.Sprintf("mean %.4g, want 0", s.mean)
		}
		return ""
	}}
	ruleOnes  = initRule{"ones", func(s initStats, _ int) string { return map[bool]string{false: "not all 1"}[s.allOnes] }}
	ruleZeros = initRule{"zeros", func(s initStats, _ int) string { return map[bool]string{false: "not all 0"}[s.zeros] }}
)

// TestInitRules checks, for every architecture at its official width
// (with -short only resnet32 and resnet18, one of each class),
// which initialisation each tensor got, against the official
// GLMC-2023/model/ResNet_cifar.py: ResNet_modify (resnet32) applies
// _weights_init, kaiming_normal_ on the weight of every Conv2d and Linear,
// and leaves the Linear biases at PyTorch's default; the ResNet class
// (resnet18 and deeper) keeps PyTorch's defaults everywhere. The ResNet
// of Resnet_LT.py (resnet50_lt, resnext50_32x4d) applies kaiming_normal_
// with mode fan_out (out·kernel², whatever the groups) to every Conv2d
// weight and keeps the Linear defaults. Batch norms
// start at weight 1, bias 0, running mean 0, running variance 1, count 0.
// Every weight and Linear bias must also fail the other random rule, so
// the test can tell them apart.
func TestInitRules(t *testing.T) {
	for _, arch := range Archs() {
		t.Run(arch, func(t *testing.T) {
			if testing.Short() && arch != "resnet32" && arch != "resnet18" {
				t.Skip("-short: resnet32 and resnet18 only")
			}
			m, err := NewModel(Config{Arch: arch, NumClasses: 100}, tensor.NewRNG(7))
			if err != nil {
				t.Fatal(err)
			}
			weightRule, otherRule := ruleUniform, ruleKaimingNormal
			if arch == "resnet32" {
				weightRule, otherRule = ruleKaimingNormal, ruleUniform
			}
			lt := archs[arch].block == blockLT
			entries := StateDict(m)
			shapes := map[string][]int{}
			for _, e := range entries {
				shapes[e.Name] = e.Shape()
			}
			counts := map[string]int{}
			for _, e := range entries {
				module, field := e.Name[:strings.LastIndex(e.Name, ".")+1], e.Name[strings.LastIndex(e.Name, ".")+1:]
				_, isBN := shapes[module+"running_mean"]
				var want, other initRule
				fanIn := 0
				wantFan := func() int { return fanIn }
				switch {
				case e.Count != nil:
					if *e.Count != 0 {
						t.Errorf("%s = %d, want 0", e.Name, *e.Count)
					}
					continue
				case isBN && (field == "weight" || field == "running_var"):
					want = ruleOnes
				case isBN:
					want = ruleZeros
				case field == "weight" && lt && len(e.Shape()) == 4:
					want, other = ruleKaimingNormal, ruleUniform
					fanIn = e.Tensor().Numel() / e.Shape()[0]
					wantFan = func() int { return e.Shape()[0] * e.Shape()[2] * e.Shape()[3] }
				case field == "weight" && lt:
					want, other = ruleUniform, ruleKaimingNormal
					fanIn = e.Tensor().Numel() / e.Shape()[0]
				case field == "weight":
					want, other = weightRule, otherRule
					fanIn = e.Tensor().Numel() / e.Shape()[0]
				case field == "bias" && len(shapes[module+"weight"]) == 2:
					want, other = ruleUniform, ruleKaimingNormal // a Linear bias
					fanIn = shapes[module+"weight"][1]
				default:
					t.Errorf("%s: not a weight, a Linear bias or a batch-norm entry", e.Name)
					continue
				}
				counts[want.name]++
				s := statsOf(e.Tensor().Data)
				if why := want.fits(s, wantFan()); why != "" {
					t.Errorf("%s (%v, fan %d): not %s: %s", e.Name, e.Shape(), wantFan(), want.name, why)
				}
				if other.fits != nil && other.fits(s, fanIn) == "" {
					t.Errorf("%s (%v, fan_in %d): looks %s as much as %s: the bounds cannot tell them apart", e.Name, e.Shape(), fanIn, other.name, want.name)
				}
			}
			t.Logf("%s: tensors per rule: %v", arch, counts)
		})
	}
}
