package data

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ListEntry is one line of an official list file.
type ListEntry struct {
	Path  string // the image, relative to the dataset root (or absolute), as written
	Label int    // ≥ 0
	Line  int    // 1-based line number, for messages
}

// Bounds of what ParseList accepts: far above the real lists (iNaturalist
// 2018 has 8142 classes and 437513 training lines of under 100 bytes), low
// enough that a corrupt file cannot make the readers allocate without end.
const (
	maxListLabel = 1 << 20
	maxListLine  = 1 << 16
)

// ParseList reads an official list file (ImageNet_LT_train.txt,
// iNaturalist18_val.txt, ...): one "<relative path> <label>" per line, the
// two separated by white space, the label a decimal class index. The
// official LT_Dataset splits each line on white space and would crash on a
// blank line or mislabel a path holding a space; here any line that is not
// exactly a path and a label is an error naming name:line and what was
// expected. A UTF-8 byte-order mark and Windows line ends are accepted.
func ParseList(r io.Reader, name string) ([]ListEntry, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), maxListLine)
	var out []ListEntry
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		if line == 1 {
			text = strings.TrimPrefix(text, "\ufeff")
		}
		e, err := parseListLine(text)
		if err != nil {
			return nil, fmt.Errorf("data: %s:%d: %w", name, line, err)
		}
		e.Line = line
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("data: %s:%d: line longer than %d bytes, want \"<relative path> <label>\"", name, line+1, maxListLine)
		}
		return nil, fmt.Errorf("data: %s: %w", name, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("data: %s: no lines, want one \"<relative path> <label>\" per image", name)
	}
	return out, nil
}

func parseListLine(text string) (ListEntry, error) {
	if !isValidUTF8(text) {
		return ListEntry{}, errors.New("not UTF-8 text, want \"<relative path> <label>\"")
	}
	f := strings.Fields(text)
	if len(f) != 2 {
		return ListEntry{}, fmt.Errorf("%d fields in %q, want \"<relative path> <label>\" (paths with spaces are not supported)", len(f), clip(text))
	}
	label, err := strconv.ParseUint(f[1], 10, 32)
	if err != nil || label > maxListLabel || f[1][0] == '+' {
		return ListEntry{}, fmt.Errorf("label %q, want a class index 0..%d", clip(f[1]), maxListLabel)
	}
	return ListEntry{Path: f[0], Label: int(label)}, nil
}

// isValidUTF8 rejects what no file name holds: invalid UTF-8 and NUL bytes.
func isValidUTF8(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }

// clip shortens text quoted in an error message to a readable length.
func clip(s string) string {
	if len(s) > 80 {
		return s[:77] + "..."
	}
	return s
}

// listClasses returns the class count of a training list, checking that
// every class 0..max has at least one image: the official code counts
// classes as the distinct labels and indexes its per-class counts by
// label, so a gap would break it.
func listClasses(entries []ListEntry, name string) (int, error) {
	top := 0
	for _, e := range entries {
		top = max(top, e.Label)
	}
	seen := make([]bool, top+1)
	for _, e := range entries {
		seen[e.Label] = true
	}
	for c, ok := range seen {
		if !ok {
			return 0, fmt.Errorf("data: %s: no image of class %d, want every label 0..%d to occur (the largest label is %d)", name, c, top, top)
		}
	}
	return top + 1, nil
}
