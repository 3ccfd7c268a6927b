package data

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/glmc/glmc/internal/pickle"
)

// CIFAR images are 3×32×32; both layouts store each image as 1024 red, then
// 1024 green, then 1024 blue bytes, which is already (C, H, W).
const (
	cifarSide  = 32
	cifarPixel = 3 * cifarSide * cifarSide
)

// cifarFile is one batch file and the number of images it must hold: the
// counts are what catch a file cut short (or padded) at a record boundary.
type cifarFile struct {
	name   string
	images int
}

// cifarLayout describes one CIFAR distribution as torchvision unpacks it.
type cifarLayout struct {
	folder      string // folder under the data directory, torchvision's name
	python      bool   // pickled dicts (true) or fixed-size binary records
	classes     int
	train, test []cifarFile
	// Binary layout: one byte per entry before the pixels, each below the
	// given bound; the last one is the class label (CIFAR-100 stores the
	// coarse label first, then the fine one).
	labelBounds []int
	// Python layout: dict key of the label list.
	labelKey string
	// Class names: a text file with one name per line (binary layout) or a
	// pickled dict holding the list under metaKey (python layout).
	meta    string
	metaKey string
}

func cifarBatches(prefix, suffix string) []cifarFile {
	files := make([]cifarFile, 5)
	for i := range files {
		files[i] = cifarFile{fmt.Sprintf("%s%d%s", prefix, i+1, suffix), 10000}
	}
	return files
}

// The four official distributions, in the order Load prefers them: the
// binary files need no pickle decoding, and both hold the same images in
// the same order.
var (
	cifar10Binary = cifarLayout{
		folder: "cifar-10-batches-bin", classes: 10,
		train:       cifarBatches("data_batch_", ".bin"),
		test:        []cifarFile{{"test_batch.bin", 10000}},
		labelBounds: []int{10},
		meta:        "batches.meta.txt",
	}
	cifar10Python = cifarLayout{
		folder: "cifar-10-batches-py", python: true, classes: 10,
		train:    cifarBatches("data_batch_", ""),
		test:     []cifarFile{{"test_batch", 10000}},
		labelKey: "labels",
		meta:     "batches.meta", metaKey: "label_names",
	}
	cifar100Binary = cifarLayout{
		folder: "cifar-100-binary", classes: 100,
		train:       []cifarFile{{"train.bin", 50000}},
		test:        []cifarFile{{"test.bin", 10000}},
		labelBounds: []int{20, 100},
		meta:        "fine_label_names.txt",
	}
	cifar100Python = cifarLayout{
		folder: "cifar-100-python", python: true, classes: 100,
		train:    []cifarFile{{"train", 50000}},
		test:     []cifarFile{{"test", 10000}},
		labelKey: "fine_labels",
		meta:     "meta", metaKey: "fine_label_names",
	}
)

// load reads both splits from root/folder.
func (l *cifarLayout) load(root, dataset string) (train, test *Dataset, err error) {
	dir := filepath.Join(root, l.folder)
	classes, err := l.readClasses(dir)
	if err != nil {
		return nil, nil, err
	}
	if train, err = l.readSplit(dir, l.train, dataset+"/train", classes); err != nil {
		return nil, nil, err
	}
	if test, err = l.readSplit(dir, l.test, dataset+"/test", classes); err != nil {
		return nil, nil, err
	}
	return train, test, nil
}

func (l *cifarLayout) readSplit(dir string, files []cifarFile, name string, classes []string) (*Dataset, error) {
	d := &Dataset{Name: name, Channels: 3, Height: cifarSide, Width: cifarSide, Classes: classes}
	for _, f := range files {
		path := filepath.Join(dir, f.name)
		var images []uint8
		var labels []int
		var err error
		if l.python {
			images, labels, err = readCIFARPickleFile(path, l.labelKey, len(classes), f.images)
		} else {
			images, labels, err = readCIFARBinaryFile(path, l.labelBounds, f.images)
		}
		if err != nil {
			return nil, err
		}
		d.Images = append(d.Images, images...)
		d.Labels = append(d.Labels, labels...)
	}
	return d, d.Validate()
}

func (l *cifarLayout) readClasses(dir string) ([]string, error) {
	path := filepath.Join(dir, l.meta)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	var names []string
	if l.python {
		names, err = decodeCIFARMeta(b, l.metaKey)
	} else {
		for line := range strings.SplitSeq(string(b), "\n") {
			if s := strings.TrimSpace(line); s != "" {
				names = append(names, s)
			}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("data: %s: %w", path, err)
	}
	if len(names) != l.classes {
		return nil, fmt.Errorf("data: %s: %d class names, want %d", path, len(names), l.classes)
	}
	return names, nil
}

// readCIFARBinaryFile checks the file's size before reading it, so a wrong
// file fails fast and a huge one is never loaded.
func readCIFARBinaryFile(path string, labelBounds []int, images int) ([]uint8, []int, error) {
	rec := len(labelBounds) + cifarPixel
	st, err := os.Stat(path)
	if err != nil {
		return nil, nil, fmt.Errorf("data: %w", err)
	}
	if err := checkRecordSize(st.Size(), rec, len(labelBounds), images); err != nil {
		return nil, nil, fmt.Errorf("data: %s: %w", path, err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("data: %w", err)
	}
	img, lab, err := decodeCIFARBinary(b, labelBounds, images)
	if err != nil {
		return nil, nil, fmt.Errorf("data: %s: %w", path, err)
	}
	return img, lab, nil
}

func checkRecordSize(size int64, rec, labelBytes, images int) error {
	switch {
	case size%int64(rec) != 0:
		return fmt.Errorf("%d bytes is not a whole number of %d-byte records (%d label byte(s) + %d pixels): wrong file or record size", size, rec, labelBytes, cifarPixel)
	case images > 0 && size != int64(images*rec):
		what := "truncated"
		if size > int64(images*rec) {
			what = "oversized"
		}
		return fmt.Errorf("%s: %d bytes, want %d (%d records of %d bytes)", what, size, images*rec, images, rec)
	}
	return nil
}

// decodeCIFARBinary splits fixed-size records (label bytes, then 3072
// pixels) into pixels and class labels. images > 0 demands that many records.
func decodeCIFARBinary(b []byte, labelBounds []int, images int) ([]uint8, []int, error) {
	rec := len(labelBounds) + cifarPixel
	if err := checkRecordSize(int64(len(b)), rec, len(labelBounds), images); err != nil {
		return nil, nil, err
	}
	n := len(b) / rec
	pixels := make([]uint8, 0, n*cifarPixel)
	labels := make([]int, n)
	for i := range n {
		r := b[i*rec : (i+1)*rec]
		for j, bound := range labelBounds {
			if int(r[j]) >= bound {
				return nil, nil, fmt.Errorf("record %d: label byte %d is %d, want 0..%d", i, j, r[j], bound-1)
			}
		}
		labels[i] = int(r[len(labelBounds)-1])
		pixels = append(pixels, r[len(labelBounds):]...)
	}
	return pixels, labels, nil
}

func readCIFARPickleFile(path, labelKey string, classes, images int) ([]uint8, []int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("data: %w", err)
	}
	img, lab, err := decodeCIFARPickle(b, labelKey, classes, images)
	if err != nil {
		return nil, nil, fmt.Errorf("data: %s: %w", path, err)
	}
	return img, lab, nil
}

// decodeCIFARPickle reads one python-layout batch: a dict with a uint8
// array (N, 3072) under "data" and N labels under labelKey. images > 0
// demands that N.
func decodeCIFARPickle(b []byte, labelKey string, classes, images int) ([]uint8, []int, error) {
	v, err := unpickle(b)
	if err != nil {
		return nil, nil, err
	}
	raw, err := pyDictGet(v, "data")
	if err != nil {
		return nil, nil, err
	}
	arr, ok := raw.(*ndarray)
	if !ok {
		return nil, nil, fmt.Errorf(`"data" is %T, want a numpy array`, raw)
	}
	if arr.dtype != "u1" && arr.dtype != "|u1" {
		return nil, nil, fmt.Errorf(`"data" has dtype %q, want uint8 ("u1")`, arr.dtype)
	}
	if len(arr.shape) != 2 || arr.shape[1] != cifarPixel {
		return nil, nil, fmt.Errorf(`"data" has shape %v, want (N, %d)`, arr.shape, cifarPixel)
	}
	n := arr.shape[0]
	if len(arr.data) != n*cifarPixel {
		return nil, nil, fmt.Errorf(`"data" holds %d bytes for shape %v (want %d)`, len(arr.data), arr.shape, n*cifarPixel)
	}
	if images > 0 && n != images {
		return nil, nil, fmt.Errorf("%d images, want %d", n, images)
	}
	rawLabels, err := pyDictGet(v, labelKey)
	if err != nil {
		return nil, nil, err
	}
	items, ok := pyList(rawLabels)
	if !ok {
		return nil, nil, fmt.Errorf("%q is %T, want a list", labelKey, rawLabels)
	}
	if len(items) != n {
		return nil, nil, fmt.Errorf("%d labels for %d images", len(items), n)
	}
	labels := make([]int, n)
	for i, it := range items {
		y, ok := pyInt(it)
		if !ok {
			return nil, nil, fmt.Errorf("image %d: label %s, want an integer 0..%d", i, pickle.Brief(it), classes-1)
		}
		if y < 0 || y >= classes {
			return nil, nil, fmt.Errorf("image %d: label %d, want 0..%d", i, y, classes-1)
		}
		labels[i] = y
	}
	return arr.data, labels, nil
}

// decodeCIFARMeta reads the class-name list from a pickled meta dict.
func decodeCIFARMeta(b []byte, key string) ([]string, error) {
	v, err := unpickle(b)
	if err != nil {
		return nil, err
	}
	raw, err := pyDictGet(v, key)
	if err != nil {
		return nil, err
	}
	items, ok := pyList(raw)
	if !ok {
		return nil, fmt.Errorf("%q is %T, want a list", key, raw)
	}
	names := make([]string, len(items))
	for i, it := range items {
		s, ok := pyString(it)
		if !ok {
			return nil, fmt.Errorf("%q item %d is %T, want a string", key, i, it)
		}
		names[i] = string(bytes.TrimSpace([]byte(s)))
	}
	return names, nil
}
