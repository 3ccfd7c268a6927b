package data

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/glmc/glmc/internal/fuzzcorpus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseList(t *testing.T) {
	got, err := ParseList(strings.NewReader("\ufefftrain/n01/a.JPEG 0\r\ntrain/n02/b.JPEG\t17\n  c.png   3  \n"), "l.txt")
	require.NoError(t, err)
	assert.Equal(t, []ListEntry{{"train/n01/a.JPEG", 0, 1}, {"train/n02/b.JPEG", 17, 2}, {"c.png", 3, 3}}, got)

	for _, tc := range []struct{ text, want string }{
		{"a.jpg 0\n\nb.jpg 1\n", `l.txt:2: 0 fields in "", want "<relative path> <label>"`},
		{"a.jpg 0\nmy dog.jpg 1\n", `l.txt:2: 3 fields in "my dog.jpg 1"`},
		{"a.jpg\n", `l.txt:1: 1 fields`},
		{"a.jpg -1\n", `l.txt:1: label "-1", want a class index 0..1048576`},
		{"a.jpg +1\n", `l.txt:1: label "+1"`},
		{"a.jpg 1.0\n", `l.txt:1: label "1.0"`},
		{"a.jpg 1048577\n", `l.txt:1: label "1048577"`},
		{"a.jpg 99999999999999999999\n", `l.txt:1: label "99999999999999999999"`},
		{"a\xff.jpg 1\n", `l.txt:1: not UTF-8 text`},
		{"a\x00.jpg 1\n", `l.txt:1: not UTF-8 text`},
		{"", `l.txt: no lines`},
		{"a.jpg 0\n" + strings.Repeat("x", maxListLine) + " 1\n", `l.txt:2: line longer than 65536 bytes`},
	} {
		_, err := ParseList(strings.NewReader(tc.text), "l.txt")
		require.Error(t, err, "%q", tc.text)
		assert.Contains(t, err.Error(), "data: "+tc.want, "%q", tc.text)
		assert.NotContains(t, err.Error(), "\n")
	}
}

func TestListClasses(t *testing.T) {
	n, err := listClasses([]ListEntry{{"a", 2, 1}, {"b", 0, 2}, {"c", 1, 3}}, "l")
	require.NoError(t, err)
	assert.Equal(t, 3, n)
	_, err = listClasses([]ListEntry{{"a", 2, 1}, {"b", 0, 2}}, "l")
	assert.EqualError(t, err, "data: l: no image of class 1, want every label 0..2 to occur (the largest label is 2)")

	names := listClassNames([]ListEntry{{"train/n01/a.jpg", 0, 1}, {"train/n01/b.jpg", 0, 2}, {"x/a.jpg", 1, 3}, {"y/b.jpg", 1, 4}, {"c.jpg", 2, 5}}, 3)
	assert.Equal(t, []string{"n01", "1", "2"}, names)
}

// writeFiles creates the named files (contents irrelevant) under dir.
func writeFiles(t *testing.T, dir string, files ...string) {
	t.Helper()
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte("x"), 0o644))
	}
}

func TestLoadListDataset(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "ImageNet_LT_train.txt"), []byte("train/n02/a.JPEG 1\ntrain/n01/b.JPEG 0\ntrain/n02/c.JPEG 1\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "ImageNet_LT_test.txt"), []byte("val/x.JPEG 1\n"), 0o644))
	for _, name := range []string{"imagenet-lt", "ImageNet-LT"} {
		train, test, err := LoadLongTailed(name, dir, 100, 3407) // the official list is used as it is
		require.NoError(t, err)
		assert.Equal(t, []int{1, 0, 1}, train.Labels)
		assert.Equal(t, []string{"n01", "n02"}, train.Classes)
		assert.Equal(t, []int{1, 2}, train.ClassCounts())
		assert.Equal(t, ImageFile{filepath.Join(dir, "train/n01/b.JPEG"), "ImageNet_LT_train.txt:2"}, train.Files[1])
		assert.Equal(t, 224, train.Height)
		assert.Equal(t, []int{0, 1}, test.ClassCounts())
		assert.Equal(t, "ImageNet_LT_test.txt:1", test.Files[0].Where)
	}
	train, _, err := LoadFiles("imagenet-lt", dir, FileOptions{Size: 32})
	require.NoError(t, err)
	assert.Equal(t, [3]int{3, 32, 32}, [3]int{train.Channels, train.Height, train.Width})
	_, _, err = LoadFiles("imagenet-lt", dir, FileOptions{Size: -1})
	assert.EqualError(t, err, "data: imagenet-lt: image size -1, want a positive side (or 0 for 224)")

	classes, err := ClassNames("imagenet-lt", dir)
	require.NoError(t, err)
	assert.Equal(t, []string{"n01", "n02"}, classes)

	// Lists given by path; a test label the training list lacks.
	other := filepath.Join(t.TempDir(), "test.txt")
	require.NoError(t, os.WriteFile(other, []byte("a.jpg 0\nb.jpg 2\n"), 0o644))
	_, _, err = LoadFiles("imagenet-lt", dir, FileOptions{TestList: other})
	assert.EqualError(t, err, "data: "+other+":2: label 2, want a class of the training list, 0..1")
	_, _, err = LoadFiles("inat2018", dir, FileOptions{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "iNaturalist18_train.txt")
}

func TestLoadFolder(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir,
		"train/dog/b.png", "train/dog/a.JPG", "train/dog/z/c.jpeg", "train/dog/notes.txt",
		"train/cat/x.jpg", "train/cat/sub/y.webp", "train/cat/sub/deeper/w.png", "train/cat/sub2/v.jpg", "train/cat/sub.png",
		"train/readme.md",
		"val/dog/1.jpg", "test/cat/2.jpg")
	train, test, err := LoadLongTailed("folder", dir, 1, 0)
	require.NoError(t, err)
	assert.Equal(t, []string{"cat", "dog"}, train.Classes)
	var where []string
	for _, f := range train.Files {
		where = append(where, f.Where)
	}
	// torchvision's order: sorted(os.walk(class)), then sorted file names.
	assert.Equal(t, []string{
		"train/cat/sub.png", "train/cat/x.jpg", "train/cat/sub/y.webp", "train/cat/sub/deeper/w.png", "train/cat/sub2/v.jpg",
		"train/dog/a.JPG", "train/dog/b.png", "train/dog/z/c.jpeg"}, where)
	assert.Equal(t, []int{0, 0, 0, 0, 0, 1, 1, 1}, train.Labels)
	assert.Equal(t, []int{1}, test.Labels, "val/ is preferred to test/")
	assert.Equal(t, "val/dog/1.jpg", test.Files[0].Where)

	// The long-tailed cut of a folder: classes of 5 and 3 images, n_max 4
	// (⌊N/C⌋, as the official split), so at IF 2 the classes keep 4 and 2.
	// With 5 and 9 images n_max is 7, more than the first class has: an
	// error that says how to take the folder whole.
	cut, _, err := LoadLongTailed("folder", dir, 2, 0)
	require.NoError(t, err)
	assert.Equal(t, []int{4, 2}, cut.ClassCounts())
	writeFiles(t, dir, "train/dog/d1.jpg", "train/dog/d2.jpg", "train/dog/d3.jpg", "train/dog/d4.jpg", "train/dog/d5.jpg", "train/dog/d6.jpg")
	_, _, err = LoadLongTailed("folder", dir, 1.01, 0)
	assert.ErrorContains(t, err, "; --imbalance-factor 1 takes the folder as it is")
	for _, f := range []string{"d1", "d2", "d3", "d4", "d5", "d6"} {
		require.NoError(t, os.Remove(filepath.Join(dir, "train/dog", f+".jpg")))
	}

	require.NoError(t, os.MkdirAll(filepath.Join(dir, "train/empty"), 0o755))
	_, _, err = Load("folder", dir)
	assert.EqualError(t, err, "data: folder: no image in "+filepath.Join(dir, "train/empty")+", want files ending in .jpg, .jpeg, .png, .ppm, .bmp, .pgm, .tif, .tiff, .webp")
	require.NoError(t, os.Remove(filepath.Join(dir, "train/empty")))
	writeFiles(t, dir, "val/bird/1.jpg")
	_, _, err = Load("folder", dir)
	assert.EqualError(t, err, `data: folder: `+filepath.Join(dir, "val")+` has class folder "bird", which `+filepath.Join(dir, "train")+` lacks`)
}

func TestFolderSymlinkLoop(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, "train/a/1.jpg", "val/a/1.jpg")
	require.NoError(t, os.Symlink(filepath.Join(dir, "train/a"), filepath.Join(dir, "train/a/loop")))
	_, _, err := Load("folder", dir)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "want no symbolic-link loop")
}

func FuzzParseList(f *testing.F) {
	fuzzcorpus.Check(f,
		fuzzcorpus.Seed{Name: "imagenet-lt", Args: []any{[]byte("train/n01440764/n01440764_190.JPEG 0\ntrain/n01443537/n01443537_2.JPEG 1\n")}},
		fuzzcorpus.Seed{Name: "inat", Args: []any{[]byte("train_val2018/Plantae/7477/3b60c9486db1d2ee875f11a669fbde4a.jpg 7477\r\n")}},
		fuzzcorpus.Seed{Name: "bom-tabs", Args: []any{[]byte("\ufeffa.jpg\t3\nb.png  0")}},
		fuzzcorpus.Seed{Name: "blank-line", Args: []any{[]byte("a.jpg 0\n\n")}},
		fuzzcorpus.Seed{Name: "space-in-path", Args: []any{[]byte("my dog.jpg 1\n")}},
	)
	f.Fuzz(func(t *testing.T, b []byte) {
		entries, err := ParseList(bytes.NewReader(b), "l.txt")
		fuzzcorpus.OneLine(t, err)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "data: l.txt") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		for i, e := range entries {
			if e.Line <= 0 || (i > 0 && e.Line <= entries[i-1].Line) {
				t.Fatalf("entry %d: line %d after %d", i, e.Line, entries[max(i-1, 0)].Line)
			}
			if e.Path == "" || strings.ContainsAny(e.Path, " \t\r\n\x00") || !utf8.ValidString(e.Path) {
				t.Fatalf("entry %d: path %q accepted", i, e.Path)
			}
			if e.Label < 0 || e.Label > maxListLabel {
				t.Fatalf("entry %d: label %d accepted", i, e.Label)
			}
		}
		if len(entries) == 0 {
			t.Fatal("no entries and no error")
		}
	})
}
