package data

import (
	"archive/tar"
	"bytes"
	"slices"
	"testing"

	"github.com/glmc/glmc/internal/fuzzcorpus"
)

// The parsers must never panic or allocate without bound on any input, and
// what they accept must be self-consistent. Run one with, e.g.,
// go test -run XXX -fuzz FuzzReadIDX ./data
// The seeds are committed under testdata/fuzz (see internal/fuzzcorpus).

func FuzzReadIDX(f *testing.F) {
	fuzzcorpus.Check(f,
		fuzzcorpus.Seed{Name: "images", Args: []any{idxFile([]int{2, 3}, []byte{1, 2, 3, 4, 5, 6}, false)}},
		fuzzcorpus.Seed{Name: "labels-little-endian", Args: []any{idxFile([]int{4}, []byte{0, 1, 2, 9}, true)}},
		fuzzcorpus.Seed{Name: "gzip", Args: []any{gzipBytes(idxFile([]int{1, 2, 2}, []byte{7, 7, 7, 7}, false))}},
		fuzzcorpus.Seed{Name: "huge-extent", Args: []any{[]byte{0, 0, 8, 1, 0xff, 0xff, 0xff, 0xff}}},
		fuzzcorpus.Seed{Name: "gzip-cut", Args: []any{[]byte{0x1f, 0x8b, 8, 0}}},
	)
	f.Fuzz(func(t *testing.T, b []byte) {
		x, err := ReadIDX(bytes.NewReader(b))
		fuzzcorpus.OneLine(t, err)
		if err != nil {
			return
		}
		n := 1
		for _, d := range x.Dims {
			n *= d
		}
		if len(x.Dims) == 0 || n != len(x.Data) {
			t.Fatalf("accepted extents %v with %d bytes", x.Dims, len(x.Data))
		}
	})
}

func FuzzDecodeCIFARBinary(f *testing.F) {
	img, lab := fakeImages(1, 1, 10)
	fuzzcorpus.Check(f,
		fuzzcorpus.Seed{Name: "cifar10", Args: []any{cifarBinaryRecords(img, lab, 1), false}},
		fuzzcorpus.Seed{Name: "cifar100", Args: []any{cifarBinaryRecords(img, lab, 2), true}},
		fuzzcorpus.Seed{Name: "label-only", Args: []any{[]byte{3}, false}},
	)
	f.Fuzz(func(t *testing.T, b []byte, cifar100 bool) {
		bounds := []int{10}
		if cifar100 {
			bounds = []int{20, 100}
		}
		pixels, labels, err := decodeCIFARBinary(b, bounds, 0)
		fuzzcorpus.OneLine(t, err)
		if err != nil {
			return
		}
		if len(pixels) != len(labels)*cifarPixel || len(labels)*(len(bounds)+cifarPixel) != len(b) {
			t.Fatalf("accepted %d bytes as %d images", len(b), len(labels))
		}
		for _, y := range labels {
			if y < 0 || y >= bounds[len(bounds)-1] {
				t.Fatalf("label %d accepted", y)
			}
		}
	})
}

// Go's fuzzer minimises every new interesting input for up to
// -fuzzminimizetime (60 s by default), which the 3 KB image pickle often
// needs in full: pauses in the exec count are that, not a hang. Passing
// -fuzzminimizetime 2s keeps the fuzzer exploring.
func FuzzDecodeCIFARPickle(f *testing.F) {
	img, lab := fakeImages(2, 1, 10)
	fuzzcorpus.Check(f,
		fuzzcorpus.Seed{Name: "batch", Args: []any{cifarPickleBatch(img, lab, "labels")}},
		fuzzcorpus.Seed{Name: "meta", Args: []any{pickle2(pyDict{{"label_names", []any{"cat", "dog"}}})}},
		fuzzcorpus.Seed{Name: "label-out-of-range", Args: []any{pickle2(pyDict{{"data", pyArray{[]int{1, 3072}, "u1", img[:cifarPixel]}}, {"labels", []any{70000}}})}},
		fuzzcorpus.Seed{Name: "long1-empty", Args: []any{[]byte("\x80\x02\x8a\x00.")}},
		fuzzcorpus.Seed{Name: "binstring-2gib", Args: []any{[]byte("\x80\x02T\xff\xff\xff\x7f.")}},
		fuzzcorpus.Seed{Name: "protocol-0", Args: []any{[]byte("(lp0\nI1\naI2\na.")}},
		fuzzcorpus.Seed{Name: "label-newline", Args: []any{pickle2(pyDict{{"data", pyArray{[]int{1, 3072}, "u1", img[:cifarPixel]}}, {"labels", []any{"a\nb"}}})}},
	)
	f.Fuzz(func(t *testing.T, b []byte) {
		pixels, labels, err := decodeCIFARPickle(b, "labels", 10, 0)
		fuzzcorpus.OneLine(t, err)
		if err == nil {
			if len(pixels) != len(labels)*cifarPixel {
				t.Fatalf("accepted %d pixel bytes for %d labels", len(pixels), len(labels))
			}
			for _, y := range labels {
				if y < 0 || y >= 10 {
					t.Fatalf("label %d accepted", y)
				}
			}
		}
		_, err = decodeCIFARMeta(b, "label_names")
		fuzzcorpus.OneLine(t, err)
	})
}

// FuzzUnpack feeds archives to the download unpacker: it must never write
// outside its folder, and it leaves either the wanted folder alone in dir
// or nothing.
func FuzzUnpack(f *testing.F) {
	folder := []tarEntry{{name: "cifar/", typeflag: tar.TypeDir}, {name: "cifar/batches.meta.txt", body: []byte("cat\ndog\n")}}
	good := tarGz(append(folder, tarEntry{name: "cifar/data_batch_1.bin", body: []byte{1, 2, 3}}))
	fuzzcorpus.Check(f,
		fuzzcorpus.Seed{Name: "folder", Args: []any{good}},
		fuzzcorpus.Seed{Name: "parent", Args: []any{tarGz(append(folder, tarEntry{name: "cifar/../../evil", body: []byte("x")}))}},
		fuzzcorpus.Seed{Name: "symlink", Args: []any{tarGz(append(folder, tarEntry{name: "cifar/link", typeflag: tar.TypeSymlink, link: "/etc/passwd"}))}},
		fuzzcorpus.Seed{Name: "no-folder", Args: []any{tarGz([]tarEntry{{name: "other/file", body: []byte("x")}})}},
		fuzzcorpus.Seed{Name: "cut", Args: []any{good[:len(good)/2]}},
	)
	f.Fuzz(func(t *testing.T, b []byte) {
		dir := t.TempDir()
		err := extract(bytes.NewReader(b), "a.tar.gz", dir, "cifar")
		fuzzcorpus.OneLine(t, err)
		want := []string{"cifar"}
		if err != nil {
			want = nil
		}
		if got := leftovers(t, dir); !slices.Equal(got, want) {
			t.Fatalf("error %v, and %s holds %v", err, dir, got)
		}
	})
}
