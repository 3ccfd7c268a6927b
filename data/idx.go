package data

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// IDX is a decoded IDX file of unsigned bytes, the format of MNIST and
// Fashion-MNIST: a magic number (two zero bytes, a type code, the number of
// dimensions), one 32-bit extent per dimension, then the row-major data.
type IDX struct {
	Dims []int   // extents, outermost first
	Data []uint8 // len(Data) is the product of Dims
}

// idxMaxBytes bounds the data a header may announce, so that a corrupt
// header cannot make the reader allocate without limit.
const idxMaxBytes = 1 << 34

const idxTypeUbyte = 0x08

// ReadIDX decodes an IDX stream, gzip-compressed or raw (told apart by the
// gzip magic, not the file name). IDX is big-endian by definition; a header
// whose magic reads byte-swapped (type and rank in the low bytes) is taken
// as written little-endian, extents included, as some converters do.
func ReadIDX(r io.Reader) (*IDX, error) {
	br := bufio.NewReader(r)
	if head, _ := br.Peek(2); len(head) == 2 && head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("corrupt gzip: %w", err)
		}
		src := &gzipSource{r: zr}
		x, err := readIDX(src)
		if err != nil && src.err != nil {
			return nil, fmt.Errorf("corrupt gzip: %w", src.err)
		}
		return x, err
	}
	return readIDX(br)
}

// gzipSource remembers the first failure of the decompressor (a bad
// checksum, corrupt deflate data, a stream cut short), so that such a file
// is reported as broken gzip rather than as the short IDX data it yields.
type gzipSource struct {
	r   io.Reader
	err error
}

func (g *gzipSource) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	if err != nil && err != io.EOF && g.err == nil {
		g.err = err
	}
	return n, err
}

func readIDX(r io.Reader) (*IDX, error) {
	var magic [4]byte
	if n, err := io.ReadFull(r, magic[:]); err != nil {
		if err == io.ErrUnexpectedEOF || err == io.EOF {
			return nil, fmt.Errorf("truncated: %d bytes, want at least a 4-byte magic", n)
		}
		return nil, err
	}
	var order binary.ByteOrder
	var typ, rank byte
	switch {
	case magic[0] == 0 && magic[1] == 0:
		order, typ, rank = binary.BigEndian, magic[2], magic[3]
	case magic[2] == 0 && magic[3] == 0:
		order, typ, rank = binary.LittleEndian, magic[1], magic[0]
	default:
		return nil, fmt.Errorf("bad magic % x: want 00 00 08 <rank> (IDX of unsigned bytes)", magic)
	}
	if typ != idxTypeUbyte {
		return nil, fmt.Errorf("magic % x: data type 0x%02x, want 0x08 (unsigned byte)", magic, typ)
	}
	if rank == 0 {
		return nil, fmt.Errorf("magic % x: zero dimensions", magic)
	}
	head := make([]byte, 4*int(rank))
	if n, err := io.ReadFull(r, head); err != nil {
		if err == io.ErrUnexpectedEOF || err == io.EOF {
			return nil, fmt.Errorf("truncated header: %d of %d extent bytes", n, len(head))
		}
		return nil, err
	}
	x := &IDX{Dims: make([]int, rank)}
	total := int64(1)
	for i := range x.Dims {
		d := order.Uint32(head[4*i:])
		x.Dims[i] = int(d)
		if d > 0 && total > idxMaxBytes/int64(d) {
			return nil, fmt.Errorf("extents %v: more than %d bytes of data", x.Dims[:i+1], int64(idxMaxBytes))
		}
		total *= int64(d)
	}
	data, err := io.ReadAll(io.LimitReader(r, total+1))
	if err != nil {
		return nil, err
	}
	switch {
	case int64(len(data)) < total:
		return nil, fmt.Errorf("truncated: %d data bytes, want %d for extents %v", len(data), total, x.Dims)
	case int64(len(data)) > total:
		return nil, fmt.Errorf("oversized: more than the %d data bytes extents %v call for", total, x.Dims)
	}
	x.Data = data
	return x, nil
}

// ReadIDXFile reads an IDX file, raw or gzip-compressed; errors name the file.
func ReadIDXFile(path string) (*IDX, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	defer f.Close()
	x, err := ReadIDX(f)
	if err != nil {
		return nil, fmt.Errorf("data: %s: %w", path, err)
	}
	return x, nil
}

// FashionMNISTDebianDir is where Debian's dataset-fashion-mnist package puts
// the four gzipped IDX files.
const FashionMNISTDebianDir = "/usr/share/datasets/fashion-mnist"

// fashionMNISTClasses are the label names from the Fashion-MNIST README;
// the IDX files carry none.
var fashionMNISTClasses = []string{
	"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
	"Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
}

// loadFashionMNIST reads the train (train-*) and test (t10k-*) IDX pairs
// from dir, or from torchvision's FashionMNIST/raw under it; each file may
// be raw or end in .gz.
func loadFashionMNIST(dir string) (train, test *Dataset, err error) {
	base := dir
	if _, err := os.Stat(filepath.Join(dir, "FashionMNIST", "raw")); err == nil {
		base = filepath.Join(dir, "FashionMNIST", "raw")
	}
	if train, err = loadIDXPair(base, "train", "fashion-mnist/train", fashionMNISTClasses); err != nil {
		return nil, nil, err
	}
	if test, err = loadIDXPair(base, "t10k", "fashion-mnist/test", fashionMNISTClasses); err != nil {
		return nil, nil, err
	}
	return train, test, nil
}

// findIDX returns dir/name, or dir/name.gz when only that exists.
func findIDX(dir, name string) (string, error) {
	path := filepath.Join(dir, name)
	for _, p := range []string{path, path + ".gz"} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("data: %s: no such file (nor %s.gz); want the four Fashion-MNIST IDX files {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz] in %s", path, name, dir)
}

func loadIDXPair(dir, prefix, name string, classes []string) (*Dataset, error) {
	imgPath, err := findIDX(dir, prefix+"-images-idx3-ubyte")
	if err != nil {
		return nil, err
	}
	labPath, err := findIDX(dir, prefix+"-labels-idx1-ubyte")
	if err != nil {
		return nil, err
	}
	img, err := ReadIDXFile(imgPath)
	if err != nil {
		return nil, err
	}
	if len(img.Dims) != 3 {
		return nil, fmt.Errorf("data: %s: extents %v, want (N, H, W)", imgPath, img.Dims)
	}
	lab, err := ReadIDXFile(labPath)
	if err != nil {
		return nil, err
	}
	if len(lab.Dims) != 1 || lab.Dims[0] != img.Dims[0] {
		return nil, fmt.Errorf("data: %s: extents %v, want (%d) to match %s", labPath, lab.Dims, img.Dims[0], imgPath)
	}
	labels := make([]int, len(lab.Data))
	for i, y := range lab.Data {
		if int(y) >= len(classes) {
			return nil, fmt.Errorf("data: %s: item %d: label %d, want 0..%d", labPath, i, y, len(classes)-1)
		}
		labels[i] = int(y)
	}
	d := &Dataset{Name: name, Channels: 1, Height: img.Dims[1], Width: img.Dims[2],
		Images: img.Data, Labels: labels, Classes: classes}
	return d, d.Validate()
}
