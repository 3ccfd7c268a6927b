package nn

import "github.com/glmc/glmc/tensor"

// The ImageNet-LT and iNaturalist 2018 models of the official
// GLMC-2023/model/Resnet_LT.py: torchvision's ResNet (v1.5: the stride of
// a bottleneck on its 3×3 convolution) with the GLMC heads. The official
// main.py builds resnext50_32x4d for both datasets.

// newTrunkLT is Resnet_LT.py's ResNet up to the pooled feature: conv1
// (7×7, stride 2, padding 3), bn1, ReLU, maxpool (3×3, stride 2, padding
// 1), layer1..layer4 of bottlenecks with nf·2^i planes (official nf = 64)
// and 4·nf·2^i outputs, avgpool (AdaptiveAvgPool2d(1) and flatten).
func newTrunkLT(rng *tensor.RNG, cfg Config) (*Sequential, int) {
	nf := cfg.Width
	trunk := &Sequential{
		Layers: []Module{NewConv2d(rng, cfg.InChannels, nf, 7, 2, 3, false), NewBatchNorm2d(nf), ReLU{}, MaxPool2d{Kernel: 3, Stride: 2, Padding: 1}},
		Names:  []string{"conv1", "bn1", "relu", "maxpool"},
	}
	in := appendStages(trunk, nf, cfg.Blocks, "layer%d", 1, func(in, planes, stride int) *ResidualBlock {
		return NewBottleneckLT(rng, in, planes, stride, cfg.Groups, cfg.WidthPerGroup)
	})
	trunk.Layers = append(trunk.Layers, GlobalAvgPool{})
	trunk.Names = append(trunk.Names, "avgpool")
	return trunk, in
}

// NewBottleneckLT returns Resnet_LT.py's Bottleneck(in, planes, stride,
// groups, base_width): conv1 (1×1 to width), bn1, ReLU, conv2 (3×3,
// stride, groups), bn2, ReLU, conv3 (1×1 to 4·planes), bn3, with width =
// ⌊planes·widthPerGroup/64⌋·groups, and the downsample Sequential(1×1 conv
// with stride, BN) when the stride or the channels change. Its weights have
// PyTorch's default initialisation; NewModel re-initialises them.
func NewBottleneckLT(rng *tensor.RNG, in, planes, stride, groups, widthPerGroup int) *ResidualBlock {
	width := planes * widthPerGroup / 64 * groups
	b := &ResidualBlock{
		Function: &Sequential{
			Layers: []Module{
				NewConv2d(rng, in, width, 1, 1, 0, false), NewBatchNorm2d(width), ReLU{},
				NewGroupedConv2d(rng, width, width, 3, stride, 1, groups, false), NewBatchNorm2d(width), ReLU{},
				NewConv2d(rng, width, 4*planes, 1, 1, 0, false), NewBatchNorm2d(4 * planes),
			},
			Names: []string{"conv1", "bn1", "relu", "conv2", "bn2", "relu", "conv3", "bn3"},
		},
		Shortcut: NewSequential(),
		names:    [2]string{"", "downsample."},
	}
	if stride != 1 || in != 4*planes {
		b.Shortcut = NewShortcutB(rng, in, 4*planes, stride)
	}
	return b
}
