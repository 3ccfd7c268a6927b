package data

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// ImageFile is where one image of an image-file dataset lies.
type ImageFile struct {
	Path  string // the file to open
	Where string // for messages: "ImageNet_LT_train.txt:17", or the path under the folder root
}

// FileOptions locate the files of an image-file dataset beyond its root.
type FileOptions struct {
	// TrainList and TestList are the official list files (the official
	// --dir_train_txt and --dir_test_txt); "" means the official name
	// under the root (ImageNet_LT_train.txt, iNaturalist18_val.txt, ...).
	TrainList, TestList string
	// Size is the side of the square images the transforms make (the
	// dataset's Height and Width); 0 means the official 224. A folder of
	// small images (CIFAR-10 as JPEGs) trains at its own size so.
	Size int
}

// officialLists are the list files of the official ImageNet-LT and
// iNaturalist 2018 releases: training, then test (iNaturalist's is its
// validation set, which the official code evaluates on).
var officialLists = map[string][2]string{
	"imagenet-lt": {"ImageNet_LT_train.txt", "ImageNet_LT_test.txt"},
	"inat2018":    {"iNaturalist18_train.txt", "iNaturalist18_val.txt"},
}

// imageExtensions are torchvision's IMG_EXTENSIONS: the files ImageFolder
// takes, compared case-insensitively. Those other than JPEG and PNG are
// listed (so labels and counts are torchvision's) and fail to decode
// with a message saying so.
var imageExtensions = []string{".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp"}

// loadFiles reads the train and test splits of an image-file dataset
// (in.Files) without decoding any image.
func loadFiles(in Info, root string, opt FileOptions) (train, test *Dataset, err error) {
	if opt.Size < 0 {
		return nil, nil, fmt.Errorf("data: %s: image size %d, want a positive side (or 0 for %d)", in.Name, opt.Size, in.Height)
	}
	if opt.Size > 0 {
		in.Height, in.Width = opt.Size, opt.Size
	}
	if in.Name == "folder" {
		return loadFolder(in, root)
	}
	lists := officialLists[in.Name]
	trainList, testList := opt.TrainList, opt.TestList
	if trainList == "" {
		trainList = filepath.Join(root, lists[0])
	}
	if testList == "" {
		testList = filepath.Join(root, lists[1])
	}
	if train, err = readListSplit(in, root, trainList, in.Name+"/train", nil); err != nil {
		return nil, nil, err
	}
	if test, err = readListSplit(in, root, testList, in.Name+"/test", train.Classes); err != nil {
		return nil, nil, err
	}
	return train, test, nil
}

// readListSplit reads one list file. The training list (classes nil)
// decides the classes; a test list's labels must be among them.
func readListSplit(in Info, root, list, name string, classes []string) (*Dataset, error) {
	f, err := os.Open(list)
	if err != nil {
		return nil, fmt.Errorf("data: %s: %w; want the official list file (or give its path)", in.Name, err)
	}
	defer f.Close()
	entries, err := ParseList(f, list)
	if err != nil {
		return nil, err
	}
	if classes == nil {
		n, err := listClasses(entries, list)
		if err != nil {
			return nil, err
		}
		classes = listClassNames(entries, n)
	}
	d := &Dataset{Name: name, Channels: in.Channels, Height: in.Height, Width: in.Width, Classes: classes,
		Labels: make([]int, len(entries)), Files: make([]ImageFile, len(entries))}
	base := filepath.Base(list)
	for i, e := range entries {
		if e.Label >= len(classes) {
			return nil, fmt.Errorf("data: %s:%d: label %d, want a class of the training list, 0..%d", list, e.Line, e.Label, len(classes)-1)
		}
		d.Labels[i] = e.Label
		p := filepath.FromSlash(e.Path)
		if !filepath.IsAbs(p) {
			p = filepath.Join(root, p)
		}
		d.Files[i] = ImageFile{Path: p, Where: base + ":" + strconv.Itoa(e.Line)}
	}
	return d, d.Validate()
}

// listClassNames names class c after the folder holding its images when
// they all lie in one folder of that name (ImageNet-LT's WordNet ids,
// train/n01440764/...; iNaturalist's category ids), else after its
// number.
func listClassNames(entries []ListEntry, classes int) []string {
	names := make([]string, classes)
	agree := make([]bool, classes)
	for _, e := range entries {
		dir := path.Base(path.Dir(strings.ReplaceAll(e.Path, `\`, "/")))
		switch {
		case names[e.Label] == "":
			names[e.Label], agree[e.Label] = dir, dir != "." && dir != "/"
		case names[e.Label] != dir:
			agree[e.Label] = false
		}
	}
	for c := range names {
		if !agree[c] {
			names[c] = strconv.Itoa(c)
		}
	}
	return names
}

// folderSplits are the folders under an ImageFolder root: the training
// split, then the first of the test candidates present.
var folderSplits = struct {
	train string
	test  []string
}{"train", []string{"val", "test"}}

// loadFolder reads torchvision's ImageFolder layout: root/train/<class>/...
// and root/val/<class>/... (or test/), classes in sorted order.
func loadFolder(in Info, root string) (train, test *Dataset, err error) {
	trainDir := filepath.Join(root, folderSplits.train)
	classes, err := folderClasses(trainDir)
	if err != nil {
		return nil, nil, err
	}
	testDir := ""
	for _, s := range folderSplits.test {
		if st, err := os.Stat(filepath.Join(root, s)); err == nil && st.IsDir() {
			testDir = filepath.Join(root, s)
			break
		}
	}
	if testDir == "" {
		return nil, nil, fmt.Errorf("data: folder: no val or test folder in %s, want root/train/<class>/<image> and root/val/<class>/<image>", root)
	}
	testClasses, err := folderClasses(testDir)
	if err != nil {
		return nil, nil, err
	}
	for _, c := range testClasses {
		if !slices.Contains(classes, c) {
			return nil, nil, fmt.Errorf("data: folder: %s has class folder %q, which %s lacks", testDir, c, trainDir)
		}
	}
	if train, err = scanFolder(in, root, trainDir, classes, classes); err != nil {
		return nil, nil, err
	}
	if test, err = scanFolder(in, root, testDir, classes, testClasses); err != nil {
		return nil, nil, err
	}
	return train, test, nil
}

// folderClasses returns the names of the folders in dir, sorted, as
// torchvision's find_classes (symbolic links to folders count).
func folderClasses(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("data: folder: %w; want one folder per class there", err)
	}
	var classes []string
	for _, e := range ents {
		if st, err := os.Stat(filepath.Join(dir, e.Name())); err == nil && st.IsDir() {
			classes = append(classes, e.Name())
		}
	}
	if len(classes) == 0 {
		return nil, fmt.Errorf("data: folder: no class folders in %s, want %s/<class>/<image>", dir, dir)
	}
	slices.Sort(classes)
	return classes, nil
}

// maxFolderDepth bounds the walk below a class folder, which follows
// symbolic links as torchvision does: a link loop ends in an error.
const maxFolderDepth = 32

// scanFolder lists the images of the folders dir/<c> for c in present, in
// torchvision's make_dataset order: class by class, within a class the
// folders in sorted order of their paths (os.walk, sorted) and the files
// of each in sorted order. Labels index classes.
func scanFolder(in Info, root, dir string, classes, present []string) (*Dataset, error) {
	d := &Dataset{Name: "folder/" + filepath.Base(dir), Channels: in.Channels, Height: in.Height, Width: in.Width, Classes: classes}
	for _, c := range present {
		label := slices.Index(classes, c)
		var walked []walkedDir
		if err := walkFolder(filepath.Join(dir, c), 0, &walked); err != nil {
			return nil, err
		}
		slices.SortFunc(walked, func(a, b walkedDir) int { return strings.Compare(a.path, b.path) })
		n := len(d.Files)
		for _, w := range walked {
			for _, name := range w.files {
				p := filepath.Join(w.path, name)
				rel, err := filepath.Rel(root, p)
				if err != nil {
					rel = p
				}
				d.Files = append(d.Files, ImageFile{Path: p, Where: filepath.ToSlash(rel)})
				d.Labels = append(d.Labels, label)
			}
		}
		if len(d.Files) == n {
			return nil, fmt.Errorf("data: folder: no image in %s, want files ending in %s", filepath.Join(dir, c), strings.Join(imageExtensions, ", "))
		}
	}
	return d, d.Validate()
}

// walkedDir is one folder of a walk and its image files, sorted.
type walkedDir struct {
	path  string
	files []string
}

func walkFolder(dir string, depth int, out *[]walkedDir) error {
	if depth > maxFolderDepth {
		return fmt.Errorf("data: folder: %s: more than %d folders deep, want no symbolic-link loop", dir, maxFolderDepth)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("data: folder: %w", err)
	}
	w := walkedDir{path: dir}
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		// Stat follows links, as os.walk(followlinks=True); what it cannot
		// stat (a dangling link) is a file to os.walk, and fails to open later.
		st, err := os.Stat(p)
		switch {
		case err == nil && st.IsDir():
			if err := walkFolder(p, depth+1, out); err != nil {
				return err
			}
		case hasImageExtension(e.Name()):
			w.files = append(w.files, e.Name())
		}
	}
	slices.Sort(w.files)
	*out = append(*out, w)
	return nil
}

func hasImageExtension(name string) bool {
	ext := strings.ToLower(filepath.Ext(name))
	return slices.Contains(imageExtensions, ext)
}
