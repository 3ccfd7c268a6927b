package data

import (
	"archive/tar"
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"testing"

	"github.com/glmc/glmc/tensor"
	"github.com/stretchr/testify/require"
)

// Writers for small files in the real on-disk formats. The tests make their
// fixtures with these rather than committing binary files.

// pyDict is an ordered Python dict with str keys.
type pyDict []pyItem

type pyItem struct {
	key string
	val any
}

// pyArray is a numpy array as a pickle holds it.
type pyArray struct {
	shape []int
	dtype string // "u1" for uint8
	data  []byte
}

// pickle2 encodes v the way Python 2's cPickle writes protocol 2: str as
// SHORT_BINSTRING/BINSTRING, small ints as BININT1/2, numpy arrays through
// numpy.core.multiarray._reconstruct and BUILD. Supported values: nil,
// bool, int, string, []any (a list), pyDict, pyArray.
func pickle2(v any) []byte {
	var b bytes.Buffer
	b.Write([]byte{0x80, 2})
	pickleValue(&b, v)
	b.WriteByte('.')
	return b.Bytes()
}

func pickleValue(b *bytes.Buffer, v any) {
	switch x := v.(type) {
	case nil:
		b.WriteByte('N')
	case bool:
		if x {
			b.WriteByte(0x88)
		} else {
			b.WriteByte(0x89)
		}
	case int:
		switch {
		case x >= 0 && x < 256:
			b.Write([]byte{'K', byte(x)})
		case x >= 0 && x < 65536:
			b.Write([]byte{'M', byte(x), byte(x >> 8)})
		default:
			b.WriteByte('J')
			binary.Write(b, binary.LittleEndian, int32(x))
		}
	case string:
		if len(x) < 256 {
			b.Write([]byte{'U', byte(len(x))})
		} else {
			b.WriteByte('T')
			binary.Write(b, binary.LittleEndian, int32(len(x)))
		}
		b.WriteString(x)
	case []any:
		b.WriteString("](")
		for _, it := range x {
			pickleValue(b, it)
		}
		b.WriteByte('e')
	case pyDict:
		b.WriteString("}(")
		for _, it := range x {
			pickleValue(b, it.key)
			pickleValue(b, it.val)
		}
		b.WriteByte('u')
	case pyArray:
		b.WriteString("cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\n")
		pickleValue(b, 0)
		b.WriteByte(0x85) // TUPLE1: (0,)
		pickleValue(b, "b")
		b.WriteByte(0x87) // TUPLE3: (ndarray, (0,), 'b')
		b.WriteByte('R')
		b.WriteByte('(') // state tuple
		pickleValue(b, 1)
		b.WriteByte('(')
		for _, d := range x.shape {
			pickleValue(b, d)
		}
		b.WriteByte('t')
		b.WriteString("cnumpy\ndtype\n")
		pickleValue(b, x.dtype)
		pickleValue(b, 0)
		pickleValue(b, 1)
		b.WriteByte(0x87)
		b.WriteByte('R')
		b.WriteByte('(')
		for _, it := range []any{3, "|", nil, nil, nil, -1, -1, 0} {
			pickleValue(b, it)
		}
		b.WriteString("tb") // dtype state, BUILD
		pickleValue(b, false)
		pickleValue(b, string(x.data))
		b.WriteString("tb") // array state, BUILD
	default:
		panic(fmt.Sprintf("pickle2: unsupported %T", v))
	}
}

// fakeImages returns n random CIFAR-sized images and labels below classes.
func fakeImages(seed uint64, n, classes int) ([]uint8, []int) {
	r := tensor.NewRNG(seed)
	img := make([]uint8, n*cifarPixel)
	for i := range img {
		img[i] = uint8(r.Uint64())
	}
	lab := make([]int, n)
	for i := range lab {
		lab[i] = r.Intn(classes)
	}
	return img, lab
}

// cifarBinaryRecords encodes images in the binary layout; for CIFAR-100
// (two label bytes) the coarse label written is fine/5.
func cifarBinaryRecords(img []uint8, lab []int, labelBytes int) []byte {
	var b bytes.Buffer
	for i, y := range lab {
		if labelBytes == 2 {
			b.WriteByte(byte(y / 5))
		}
		b.WriteByte(byte(y))
		b.Write(img[i*cifarPixel : (i+1)*cifarPixel])
	}
	return b.Bytes()
}

// cifarPickleBatch encodes images as a python-layout batch dict.
func cifarPickleBatch(img []uint8, lab []int, labelKey string) []byte {
	labels := make([]any, len(lab))
	filenames := make([]any, len(lab))
	for i, y := range lab {
		labels[i] = y
		filenames[i] = fmt.Sprintf("img_%05d.png", i)
	}
	return pickle2(pyDict{
		{"batch_label", "testing batch 1 of 1"},
		{labelKey, labels},
		{"data", pyArray{shape: []int{len(img) / cifarPixel, cifarPixel}, dtype: "u1", data: img}},
		{"filenames", filenames},
	})
}

func classNames(prefix string, n int) []string {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("%s%d", prefix, i)
	}
	return names
}

// small returns a copy of the layout whose files hold perFile images each.
func (l cifarLayout) small(perFile int) cifarLayout {
	resize := func(fs []cifarFile) []cifarFile {
		out := make([]cifarFile, len(fs))
		for i, f := range fs {
			out[i] = cifarFile{f.name, perFile}
		}
		return out
	}
	l.train, l.test = resize(l.train), resize(l.test)
	return l
}

// writeCIFAR writes a complete small folder of the layout under root and
// returns the train and test sets it holds.
func writeCIFAR(t testing.TB, root string, l cifarLayout, seed uint64) (train, test *Dataset) {
	t.Helper()
	dir := filepath.Join(root, l.folder)
	require.NoError(t, os.MkdirAll(dir, 0o755))
	names := classNames("class", l.classes)
	if l.python {
		items := make([]any, len(names))
		for i, s := range names {
			items[i] = s
		}
		meta := pyDict{{l.metaKey, items}, {"num_vis", cifarPixel}}
		require.NoError(t, os.WriteFile(filepath.Join(dir, l.meta), pickle2(meta), 0o644))
	} else {
		var b bytes.Buffer
		for _, s := range names {
			b.WriteString(s + "\n")
		}
		b.WriteString("\n\n") // the real batches.meta.txt ends with blank lines
		require.NoError(t, os.WriteFile(filepath.Join(dir, l.meta), b.Bytes(), 0o644))
	}
	split := func(files []cifarFile, name string, seed uint64) *Dataset {
		d := &Dataset{Name: name, Channels: 3, Height: 32, Width: 32, Classes: names}
		for i, f := range files {
			img, lab := fakeImages(seed+uint64(i), f.images, l.classes)
			var content []byte
			if l.python {
				content = cifarPickleBatch(img, lab, l.labelKey)
			} else {
				content = cifarBinaryRecords(img, lab, len(l.labelBounds))
			}
			require.NoError(t, os.WriteFile(filepath.Join(dir, f.name), content, 0o644))
			d.Images = append(d.Images, img...)
			d.Labels = append(d.Labels, lab...)
		}
		return d
	}
	return split(l.train, "train", seed), split(l.test, "test", seed+100)
}

// idxFile encodes an IDX file of unsigned bytes, big-endian (the standard)
// or with a byte-swapped, little-endian header.
func idxFile(dims []int, data []byte, littleEndian bool) []byte {
	var b bytes.Buffer
	var order binary.ByteOrder = binary.BigEndian
	if littleEndian {
		order = binary.LittleEndian
	}
	binary.Write(&b, order, uint32(0x0800|len(dims)))
	for _, d := range dims {
		binary.Write(&b, order, uint32(d))
	}
	b.Write(data)
	return b.Bytes()
}

// gzipBytes wraps data in gzip with stored (uncompressed) deflate blocks,
// written out by hand: their bytes the format alone decides, so the
// committed fuzz seeds made from them stay in step across Go releases,
// whose compressors (stored blocks included) write different streams.
func gzipBytes(data []byte) []byte {
	b := []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff} // magic, deflate, no flags, no time, unknown OS
	trailer := binary.LittleEndian.AppendUint32(nil, crc32.ChecksumIEEE(data))
	trailer = binary.LittleEndian.AppendUint32(trailer, uint32(len(data)))
	for final := false; !final; {
		n := min(len(data), 0xffff)
		final = n == len(data)
		flag := byte(0) // BFINAL in bit 0, BTYPE 00 (stored) in bits 1-2
		if final {
			flag = 1
		}
		b = append(b, flag)
		b = binary.LittleEndian.AppendUint16(b, uint16(n))
		b = binary.LittleEndian.AppendUint16(b, ^uint16(n))
		b = append(b, data[:n]...)
		data = data[n:]
	}
	return append(b, trailer...)
}

// tarEntry is one member of a generated archive.
type tarEntry struct {
	name     string
	body     []byte
	typeflag byte // tar.TypeReg if zero
	link     string
}

func tarGz(entries []tarEntry) []byte {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: 0o644, Size: int64(len(e.body)), Typeflag: e.typeflag, Linkname: e.link}
		switch e.typeflag {
		case 0:
			h.Typeflag = tar.TypeReg
		case tar.TypeDir:
			h.Mode, h.Size = 0o755, 0
		default:
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			panic(err)
		}
		if h.Size > 0 {
			tw.Write(e.body)
		}
	}
	tw.Close()
	return gzipBytes(b.Bytes())
}
