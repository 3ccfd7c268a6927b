package data

import (
	"bytes"
	"testing"
)

// The parsers must never panic or allocate without bound on any input, and
// what they accept must be self-consistent. Run one with, e.g.,
// go test -run XXX -fuzz FuzzReadIDX ./data

func FuzzReadIDX(f *testing.F) {
	f.Add(idxFile([]int{2, 3}, []byte{1, 2, 3, 4, 5, 6}, false))
	f.Add(idxFile([]int{4}, []byte{0, 1, 2, 9}, true))
	f.Add(gzipBytes(idxFile([]int{1, 2, 2}, []byte{7, 7, 7, 7}, false)))
	f.Add([]byte{0, 0, 8, 1, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{0x1f, 0x8b, 8, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		x, err := ReadIDX(bytes.NewReader(b))
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
	img, lab := fakeImages(1, 2, 10)
	f.Add(cifarBinaryRecords(img, lab, 1), false)
	f.Add(cifarBinaryRecords(img, lab, 2), true)
	f.Add([]byte{3}, false)
	f.Fuzz(func(t *testing.T, b []byte, cifar100 bool) {
		bounds := []int{10}
		if cifar100 {
			bounds = []int{20, 100}
		}
		pixels, labels, err := decodeCIFARBinary(b, bounds, 0)
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
	f.Add(cifarPickleBatch(img, lab, "labels"))
	f.Add(pickle2(pyDict{{"label_names", []any{"cat", "dog"}}}))
	f.Add(pickle2(pyDict{{"data", pyArray{[]int{1, 3072}, "u1", img[:cifarPixel]}}, {"labels", []any{70000}}}))
	f.Add([]byte("\x80\x02\x8a\x00."))          // LONG1 of length 0
	f.Add([]byte("\x80\x02T\xff\xff\xff\x7f.")) // BINSTRING announcing 2 GiB
	f.Add([]byte("(lp0\nI1\naI2\na."))          // protocol 0
	f.Fuzz(func(t *testing.T, b []byte) {
		pixels, labels, err := decodeCIFARPickle(b, "labels", 10, 0)
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
		decodeCIFARMeta(b, "label_names")
	})
}
