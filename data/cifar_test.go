package data

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCIFARLayoutsReadBackWhatWasWritten(t *testing.T) {
	for _, tc := range []struct {
		name   string
		layout cifarLayout
	}{
		{"cifar10 binary", cifar10Binary},
		{"cifar10 python", cifar10Python},
		{"cifar100 binary", cifar100Binary},
		{"cifar100 python", cifar100Python},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			l := tc.layout.small(7)
			wantTrain, wantTest := writeCIFAR(t, root, l, 1)
			train, test, err := l.load(root, "cifarX")
			require.NoError(t, err)
			for _, c := range []struct{ got, want *Dataset }{{train, wantTrain}, {test, wantTest}} {
				assert.Equal(t, c.want.Images, c.got.Images)
				assert.Equal(t, c.want.Labels, c.got.Labels)
				assert.Equal(t, classNames("class", l.classes), c.got.Classes)
				assert.Equal(t, [3]int{3, 32, 32}, [3]int{c.got.Channels, c.got.Height, c.got.Width})
			}
			assert.Equal(t, "cifarX/train", train.Name)
			assert.Equal(t, 7*len(l.train), train.Len())
		})
	}
}

func TestLoadPrefersBinaryAndExplainsMissingFolder(t *testing.T) {
	root := t.TempDir()
	// With only the python folder present, loadCIFAR falls back to it.
	l := cifar10Python.small(2)
	want, _ := writeCIFAR(t, root, l, 5)
	bin := cifar10Binary.small(2)
	train, _, err := loadCIFAR("cifar10", root, &bin, &l)
	require.NoError(t, err)
	assert.Equal(t, want.Images, train.Images)

	// With both present, the binary one wins.
	wantBin, _ := writeCIFAR(t, root, bin, 9)
	train, _, err = loadCIFAR("cifar10", root, &bin, &l)
	require.NoError(t, err)
	assert.Equal(t, wantBin.Images, train.Images)

	empty := t.TempDir()
	_, _, err = Load("cifar100", empty)
	require.Error(t, err)
	msg := err.Error()
	assert.NotContains(t, msg, "\n")
	for _, want := range []string{"cifar-100-binary or cifar-100-python", empty, "glmc data download --dataset cifar100"} {
		assert.Contains(t, msg, want)
	}
}

// TestCIFARBadInput checks that each kind of damage ends in a one-line
// error naming the file and what was expected.
func TestCIFARBadInput(t *testing.T) {
	type damage func(t *testing.T, dir string)
	write := func(name string, b []byte) damage {
		return func(t *testing.T, dir string) {
			require.NoError(t, os.WriteFile(filepath.Join(dir, name), b, 0o644))
		}
	}
	edit := func(name string, f func([]byte) []byte) damage {
		return func(t *testing.T, dir string) {
			b, err := os.ReadFile(filepath.Join(dir, name))
			require.NoError(t, err)
			write(name, f(b))(t, dir)
		}
	}
	img, lab := fakeImages(3, 4, 10)
	record := cifarBinaryRecords(img[:cifarPixel], lab[:1], 1)
	for _, tc := range []struct {
		name   string
		layout cifarLayout
		damage damage
		file   string   // expected in the message
		want   []string // expected in the message
	}{
		{"truncated binary", cifar10Binary, edit("data_batch_2.bin", func(b []byte) []byte { return b[:len(b)-len(record)] }),
			"data_batch_2.bin", []string{"truncated", "want 12292 (4 records of 3073 bytes)"}},
		{"oversized binary", cifar10Binary, edit("test_batch.bin", func(b []byte) []byte { return append(b, record...) }),
			"test_batch.bin", []string{"oversized", "15365 bytes"}},
		{"wrong record size", cifar10Binary, edit("data_batch_1.bin", func(b []byte) []byte { return b[:len(b)-1] }),
			"data_batch_1.bin", []string{"not a whole number of 3073-byte records"}},
		{"cifar-100 records read as cifar-10", cifar10Binary, edit("data_batch_3.bin", func(b []byte) []byte { return append(b, make([]byte, 4)...) }),
			"data_batch_3.bin", []string{"not a whole number"}},
		{"label out of range", cifar10Binary, edit("data_batch_4.bin", func(b []byte) []byte { b[3073] = 10; return b }),
			"data_batch_4.bin", []string{"record 1: label byte 0 is 10, want 0..9"}},
		{"fine label out of range", cifar100Binary, edit("train.bin", func(b []byte) []byte { b[1] = 100; return b }),
			"train.bin", []string{"record 0: label byte 1 is 100, want 0..99"}},
		{"coarse label out of range", cifar100Binary, edit("test.bin", func(b []byte) []byte { b[3074*2] = 20; return b }),
			"test.bin", []string{"record 2: label byte 0 is 20, want 0..19"}},
		{"missing batch", cifar10Binary, func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, "data_batch_5.bin")) },
			"data_batch_5.bin", []string{"no such file"}},
		{"too few class names", cifar10Binary, write("batches.meta.txt", []byte("cat\ndog\n")),
			"batches.meta.txt", []string{"2 class names, want 10"}},
		{"truncated pickle", cifar10Python, edit("data_batch_1", func(b []byte) []byte { return b[:len(b)/2] }),
			"data_batch_1", []string{"truncated file?"}},
		{"bytes after STOP", cifar10Python, edit("test_batch", func(b []byte) []byte { return append(b, 'N') }),
			"test_batch", []string{"1 bytes after STOP"}},
		{"pickle label out of range", cifar100Python, write("train", cifarPickleBatch(img, []int{1, 2, 100, 3}, "fine_labels")),
			"train", []string{"image 2: label 100, want 0..99"}},
		{"pickle with too few images", cifar10Python, write("data_batch_2", cifarPickleBatch(img[:3*cifarPixel], lab[:3], "labels")),
			"data_batch_2", []string{"3 images, want 4"}},
		{"pickle labels and images disagree", cifar10Python, write("data_batch_2", cifarPickleBatch(img, lab[:3], "labels")),
			"data_batch_2", []string{"3 labels for 4 images"}},
		{"pickle of the wrong dtype", cifar10Python, write("data_batch_2", pickle2(pyDict{{"data", pyArray{[]int{1, 768}, "<f4", make([]byte, cifarPixel)}}})),
			"data_batch_2", []string{`dtype "<f4", want uint8`}},
		{"pickle of the wrong shape", cifar10Python, write("data_batch_2", pickle2(pyDict{{"data", pyArray{[]int{3, 32, 32}, "u1", make([]byte, cifarPixel)}}})),
			"data_batch_2", []string{"shape [3 32 32], want (N, 3072)"}},
		{"pickle array shorter than its shape", cifar10Python, write("data_batch_2", pickle2(pyDict{{"data", pyArray{[]int{2, 3072}, "u1", make([]byte, cifarPixel)}}})),
			"data_batch_2", []string{"holds 3072 bytes for shape [2 3072]"}},
		{"pickle without labels", cifar10Python, write("data_batch_2", pickle2(pyDict{{"data", pyArray{[]int{4, 3072}, "u1", img}}})),
			"data_batch_2", []string{`no "labels" key`}},
		{"pickle that is not a dict", cifar10Python, write("data_batch_2", pickle2([]any{1, 2})),
			"data_batch_2", []string{"want a dict"}},
		{"pickle naming another class", cifar10Python, write("data_batch_2", []byte("\x80\x02cos\nsystem\n.")),
			"data_batch_2", []string{"os.system; only numpy arrays are expected"}},
		{"not a pickle", cifar10Python, write("data_batch_2", []byte("\xffhello")),
			"data_batch_2", []string{"unknown opcode 0xff at byte 0"}},
		{"meta without names", cifar100Python, write("meta", pickle2(pyDict{{"coarse_label_names", []any{"x"}}})),
			"meta", []string{`no "fine_label_names" key`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			l := tc.layout.small(4)
			writeCIFAR(t, root, l, 7)
			tc.damage(t, filepath.Join(root, l.folder))
			_, _, err := l.load(root, "cifar")
			require.Error(t, err)
			msg := err.Error()
			assert.NotContains(t, msg, "\n")
			assert.True(t, strings.HasPrefix(msg, "data: "), msg)
			assert.Contains(t, msg, filepath.Join(root, l.folder, tc.file))
			for _, w := range tc.want {
				assert.Contains(t, msg, w)
			}
		})
	}
}

func TestOfficialLayoutsDemandOfficialCounts(t *testing.T) {
	// The registered layouts insist on 10000 images per CIFAR-10 batch, so a
	// file cut at a record boundary is still caught.
	root := t.TempDir()
	writeCIFAR(t, root, cifar10Binary.small(2), 1)
	_, _, err := Load("cifar10", root)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "truncated: 6146 bytes, want 30730000 (10000 records of 3073 bytes)")
}

// TestClassNames reads each dataset's names without its images: CIFAR's
// from the meta file of either layout (only the meta file is written),
// the others built in.
func TestClassNames(t *testing.T) {
	for _, tc := range []struct {
		dataset string
		layout  *cifarLayout // written to the folder when not nil
		want    []string     // nil: only checked for its length and the index below
		index   int
		name    string
	}{
		{"cifar10", &cifar10Python, classNames("class", 10), 0, ""},
		{"cifar100", &cifar100Binary, classNames("class", 100), 0, ""},
		{"fashion-mnist", nil, nil, 9, "Ankle boot"},
		{"synthetic", nil, nil, 6, "square-1"},
	} {
		t.Run(tc.dataset, func(t *testing.T) {
			root := t.TempDir()
			if tc.layout != nil {
				writeCIFAR(t, root, tc.layout.small(1), 1)
				for _, f := range append(tc.layout.train, tc.layout.test...) {
					require.NoError(t, os.Remove(filepath.Join(root, tc.layout.folder, f.name)))
				}
			}
			got, err := ClassNames(tc.dataset, root)
			require.NoError(t, err)
			info, _ := Lookup(tc.dataset)
			require.Len(t, got, info.Classes)
			if tc.want != nil {
				assert.Equal(t, tc.want, got)
			} else {
				assert.Equal(t, tc.name, got[tc.index])
			}
		})
	}
	_, err := ClassNames("cifar10", t.TempDir())
	require.ErrorContains(t, err, "no cifar-10-batches-bin or cifar-10-batches-py folder")
}
