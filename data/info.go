package data

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Info describes a dataset this package can load.
type Info struct {
	Name                    string
	Channels, Height, Width int
	Classes                 int
	// Per-channel mean and standard deviation on the [0, 1] pixel scale,
	// used by Normalize. CIFAR values are the official GLMC code's
	// (utils/util.py); Fashion-MNIST's are its own training-set statistics
	// (the official code has none); the synthetic ones are measured on its
	// default training split.
	Mean, Std []float32
	// Files marks the datasets of image files (Dataset.Files), which the
	// official ImageNet-LT transforms turn into Height×Width crops; their
	// Classes is the official count, or 0 where the files decide it.
	Files bool
}

// imageNetMean and imageNetStd are torchvision's ImageNet statistics, which
// the official code normalises ImageNet-LT with.
var (
	imageNetMean = []float32{0.485, 0.456, 0.406}
	imageNetStd  = []float32{0.229, 0.224, 0.225}
)

var infos = []Info{
	{Name: "cifar10", Channels: 3, Height: 32, Width: 32, Classes: 10,
		Mean: []float32{0.49139968, 0.48215827, 0.44653124},
		Std:  []float32{0.24703233, 0.24348505, 0.26158768}},
	{Name: "cifar100", Channels: 3, Height: 32, Width: 32, Classes: 100,
		Mean: []float32{0.4914, 0.4822, 0.4465},
		Std:  []float32{0.2023, 0.1994, 0.2010}},
	{Name: "fashion-mnist", Channels: 1, Height: 28, Width: 28, Classes: 10,
		Mean: []float32{0.2860406},
		Std:  []float32{0.3530242}},
	{Name: "synthetic", Channels: 3, Height: 32, Width: 32, Classes: 10,
		Mean: []float32{0.4401, 0.4411, 0.4392},
		Std:  []float32{0.1827, 0.1719, 0.1820}},
	{Name: "imagenet-lt", Channels: 3, Height: 224, Width: 224, Classes: 1000,
		Mean: imageNetMean, Std: imageNetStd, Files: true},
	// iNaturalist's statistics are the official code's own (utils/util.py).
	{Name: "inat2018", Channels: 3, Height: 224, Width: 224, Classes: 8142,
		Mean: []float32{0.466, 0.471, 0.380},
		Std:  []float32{0.195, 0.194, 0.192}, Files: true},
	{Name: "folder", Channels: 3, Height: 224, Width: 224,
		Mean: imageNetMean, Std: imageNetStd, Files: true},
}

// officialNames are the official code's --dataset values (its spelling,
// sic) for the datasets this package names otherwise.
var officialNames = map[string]string{"ImageNet-LT": "imagenet-lt", "iNaturelist2018": "inat2018"}

// Names lists the datasets Load knows.
func Names() []string {
	names := make([]string, len(infos))
	for i, in := range infos {
		names[i] = in.Name
	}
	return names
}

// Lookup returns the description of the named dataset; the official
// spellings ImageNet-LT and iNaturelist2018 name imagenet-lt and inat2018.
func Lookup(name string) (Info, error) {
	if n, ok := officialNames[name]; ok {
		name = n
	}
	for _, in := range infos {
		if in.Name == name {
			return in, nil
		}
	}
	return Info{}, fmt.Errorf("data: unknown dataset %q, want one of %s", name, strings.Join(Names(), ", "))
}

// DefaultDir is the data folder used when none is given: Debian's
// Fashion-MNIST folder for fashion-mnist when that package is installed,
// "data" otherwise.
func DefaultDir(name string) string {
	if name == "fashion-mnist" {
		if _, err := os.Stat(FashionMNISTDebianDir); err == nil {
			return FashionMNISTDebianDir
		}
	}
	return "data"
}

// Load reads the balanced train and test splits of the named dataset from
// dir ("" means DefaultDir(name)). Folder layouts:
//
//   - cifar10: dir/cifar-10-batches-bin (data_batch_1.bin … data_batch_5.bin,
//     test_batch.bin, batches.meta.txt) or dir/cifar-10-batches-py
//     (data_batch_1 … data_batch_5, test_batch, batches.meta);
//   - cifar100: dir/cifar-100-binary (train.bin, test.bin,
//     fine_label_names.txt) or dir/cifar-100-python (train, test, meta);
//     labels are the fine ones;
//   - fashion-mnist: dir (or dir/FashionMNIST/raw) holding
//     train-images-idx3-ubyte, train-labels-idx1-ubyte,
//     t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte, each raw or .gz,
//     as Debian's dataset-fashion-mnist installs them;
//   - synthetic: generated (SyntheticConfig defaults), dir unused;
//   - imagenet-lt and inat2018: the official list files under dir
//     (ImageNet_LT_train.txt and ImageNet_LT_test.txt,
//     iNaturalist18_train.txt and iNaturalist18_val.txt), whose paths are
//     relative to dir; LoadFiles takes the lists from elsewhere;
//   - folder: torchvision's ImageFolder layout, dir/train/<class>/<image>
//     and dir/val/<class>/<image> (or test/), classes in sorted order.
//
// When both CIFAR layouts are present the binary one is read. Image files
// are listed, not decoded: the loader decodes them.
func Load(name, dir string) (train, test *Dataset, err error) {
	return LoadFiles(name, dir, FileOptions{})
}

// LoadFiles is Load with the list files of imagenet-lt and inat2018 given
// in opt (options other datasets ignore).
func LoadFiles(name, dir string, opt FileOptions) (train, test *Dataset, err error) {
	in, err := Lookup(name)
	if err != nil {
		return nil, nil, err
	}
	name = in.Name
	if dir == "" {
		dir = DefaultDir(name)
	}
	if in.Files {
		return loadFiles(in, dir, opt)
	}
	switch name {
	case "cifar10":
		return loadCIFAR(name, dir, &cifar10Binary, &cifar10Python)
	case "cifar100":
		return loadCIFAR(name, dir, &cifar100Binary, &cifar100Python)
	case "fashion-mnist":
		if _, err := os.Stat(dir); err != nil {
			return nil, nil, fmt.Errorf("data: fashion-mnist: %w; install Debian's dataset-fashion-mnist (%s) or put the four IDX files there", err, FashionMNISTDebianDir)
		}
		return loadFashionMNIST(dir)
	default:
		return Synthetic(SyntheticConfig{})
	}
}

func loadCIFAR(name, dir string, layouts ...*cifarLayout) (train, test *Dataset, err error) {
	l, err := findCIFAR(name, dir, layouts)
	if err != nil {
		return nil, nil, err
	}
	return l.load(dir, name)
}

// findCIFAR returns the first of layouts whose folder is in dir.
func findCIFAR(name, dir string, layouts []*cifarLayout) (*cifarLayout, error) {
	var folders []string
	for _, l := range layouts {
		if st, err := os.Stat(filepath.Join(dir, l.folder)); err == nil && st.IsDir() {
			return l, nil
		}
		folders = append(folders, l.folder)
	}
	return nil, fmt.Errorf("data: %s: no %s folder in %s; run `glmc data download --dataset %s --data-dir %s` or unpack the official archive there",
		name, strings.Join(folders, " or "), dir, name, dir)
}

// ClassNames returns the class names of the named dataset, indexed by
// label, without reading its images: Fashion-MNIST's from its README,
// the synthetic set's (default SyntheticConfig) as generated, CIFAR's from
// the meta file of the layout Load would read in dir ("" means
// DefaultDir(name)).
func ClassNames(name, dir string) ([]string, error) {
	in, err := Lookup(name)
	if err != nil {
		return nil, err
	}
	name = in.Name
	if dir == "" {
		dir = DefaultDir(name)
	}
	if in.Files {
		train, _, err := loadFiles(in, dir, FileOptions{})
		if err != nil {
			return nil, err
		}
		return train.Classes, nil
	}
	layouts := []*cifarLayout{&cifar10Binary, &cifar10Python}
	switch name {
	case "fashion-mnist":
		return slices.Clone(fashionMNISTClasses), nil
	case "synthetic":
		return synthClassNames(SyntheticConfig{}.withDefaults().Classes), nil
	case "cifar100":
		layouts = []*cifarLayout{&cifar100Binary, &cifar100Python}
	}
	l, err := findCIFAR(name, dir, layouts)
	if err != nil {
		return nil, err
	}
	return l.readClasses(filepath.Join(dir, l.folder))
}

// LoadLongTailed loads the named dataset and replaces its training split by
// the long-tailed subset at the given imbalance factor (see LongTail); the
// test split stays balanced. This is the data `glmc train` uses. The seed
// is numpy's, so it must be below 2^32.
func LoadLongTailed(name, dir string, imbalanceFactor float64, seed uint64) (train, test *Dataset, err error) {
	return LoadLongTailedFiles(name, dir, FileOptions{}, imbalanceFactor, seed)
}

// LoadLongTailedFiles is LoadLongTailed with LoadFiles's options. The
// official lists of imagenet-lt and inat2018 are long-tailed already and
// are used as they are, whatever the imbalance factor; a folder is cut
// to the long-tailed split when the factor is above 1 and used whole at 1.
func LoadLongTailedFiles(name, dir string, opt FileOptions, imbalanceFactor float64, seed uint64) (train, test *Dataset, err error) {
	if seed > math.MaxUint32 {
		return nil, nil, fmt.Errorf("data: seed %d: the long-tailed split takes numpy seeds, 0..%d", seed, uint64(math.MaxUint32))
	}
	in, err := Lookup(name)
	if err != nil {
		return nil, nil, err
	}
	if train, test, err = LoadFiles(name, dir, opt); err != nil {
		return nil, nil, err
	}
	if in.Files && (in.Name != "folder" || imbalanceFactor == 1) {
		return train, test, nil
	}
	if train, err = LongTail(train, imbalanceFactor, uint32(seed)); err != nil {
		if in.Files { // a folder of the user's own classes may be too uneven to cut
			err = fmt.Errorf("%w; --imbalance-factor 1 takes the folder as it is", err)
		}
		return nil, nil, err
	}
	return train, test, nil
}
