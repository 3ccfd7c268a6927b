package pickle

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/glmc/glmc/internal/fuzzcorpus"
)

// pythonDir holds pickles written by CPython (tools/golden/gen_pickle.py).
const pythonDir = "testdata/python"

// TestPythonPickles checks that Check accepts every pickle CPython wrote,
// in every protocol, but for the one nested past MaxDepth. (Decoding them
// needs classes such as builtins.set that only a caller can supply.)
func TestPythonPickles(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(pythonDir, "*.pkl"))
	if err != nil || len(files) < 40 {
		t.Fatalf("%d fixtures in %s (%v); regenerate with /usr/bin/python3 tools/golden/gen_pickle.py", len(files), pythonDir, err)
	}
	for _, path := range files {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		err = Check(b)
		if strings.HasPrefix(filepath.Base(path), "deep_over") {
			if err == nil || !strings.Contains(err.Error(), "nest more than 100 deep") {
				t.Errorf("%s: error %v, want one about nesting", path, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", path, err)
		}
	}
}

func TestCheckRejects(t *testing.T) {
	tests := []struct {
		name, b, want string
	}{
		{"empty", "", "no STOP opcode after 0 bytes"},
		{"no STOP", "N", "no STOP opcode after 1 bytes (truncated file?)"},
		{"unknown opcode", "\xffN.", "unknown opcode 0xff at byte 0"},
		{"data after STOP", "N.N", "1 bytes after STOP at byte 1"},
		{"cut fixed argument", "J\x01\x00", "opcode BININT at byte 0: 4-byte argument, 2 are left"},
		{"cut length", "X\x05\x00", "opcode BINUNICODE at byte 0: 4-byte length, 2 are left"},
		{"length beyond the end", "\x80\x02T\xff\xff\xff\x7f.", "opcode BINSTRING at byte 2: claims 2147483647 bytes, 1 are left"},
		{"8-byte length beyond the end", "\x8e\xff\xff\xff\xff\xff\xff\xff\xff.", "claims 18446744073709551615 bytes"},
		{"unterminated line", "I12", "opcode INT at byte 0: unterminated line"},
		{"GLOBAL with one line", "cos\nsystem", "opcode GLOBAL at byte 0: unterminated line"},
		{"empty stack", "R.", "opcode REDUCE at byte 0: needs 2 objects above the last mark, the stack holds 0"},
		{"pop across a mark", "NN(R.", "opcode REDUCE at byte 3: needs 2 objects above the last mark, the stack holds 0"},
		{"TUPLE without MARK", "Nt.", "opcode TUPLE at byte 1: no MARK before it"},
		{"DICT of an odd count", "(Nd.", "opcode DICT at byte 2: 1 items after the mark, want key, value pairs"},
		{"SETITEMS of an odd count", "}(NNNu.", "opcode SETITEMS at byte 5: 3 items after the mark"},
		{"APPENDS without a list", "(Ne.", "opcode APPENDS at byte 2: no container below the mark"},
		{"OBJ without a class", "(o.", "opcode OBJ at byte 1: no class after the mark"},
		{"objects left at STOP", "NN.", "opcode STOP at byte 2: 1 objects and 0 marks left besides the result"},
		{"mark left at STOP", "(N.", "opcode STOP at byte 2: 0 objects and 1 marks left"},
		{"STOP on an empty stack", ".", "opcode STOP at byte 0: needs 1 objects"},
		{"GET of an unset memo entry", "h\x05.", "opcode BINGET at byte 0: memo entry 5 was never stored"},
		{"PUT of nothing", "q\x00.", "opcode BINPUT at byte 0: nothing to store"},
		{"PUT of a bad index", "Np-1\n.", `opcode PUT at byte 1: memo index "-1", want a decimal number`},
		{"protocol 6", "\x80\x06N.", "opcode PROTO at byte 0: protocol 6"},
		{"PROTO not first", "N\x80\x02.", "opcode PROTO at byte 1: protocol 2, want a version of 0 to 5 as the first opcode"},
		{"frame beyond the end", "\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00N.", "opcode FRAME at byte 2: frame of 16 bytes, 2 are left"},
		// Depth through the memo: each round stores [previous] and pops it.
		{"deep through the memo", "]q\x00" + strings.Repeat("0]h\x00aq\x00", 100) + ".", "opcode APPEND at byte 700: containers nest more than 100 deep"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Check([]byte(tc.b))
			if err == nil {
				t.Fatal("accepted")
			}
			if msg := err.Error(); !strings.Contains(msg, tc.want) || !strings.HasPrefix(msg, "pickle: ") || strings.Contains(msg, "\n") {
				t.Errorf("error %q, want one line starting pickle: and containing %q", msg, tc.want)
			}
		})
	}
	if err := check([]byte("K\x01."), 2); err == nil || !strings.Contains(err.Error(), "3 bytes, more than the 2 expected") {
		t.Errorf("too large: error %v", err)
	}
}

// TestCheckAccepts covers valid streams with opcodes that CPython's
// pickler seldom or never writes.
func TestCheckAccepts(t *testing.T) {
	for name, b := range map[string]string{
		"DUP then POP":                 "N20.",
		"POP_MARK":                     "(NN1N.",
		"INST":                         "(Nimod\ncls\n.",
		"OBJ":                          "(cmod\ncls\no.",
		"PERSID":                       "Pid\n.",
		"BINPERSID":                    "NQ.",
		"FRAME, MEMOIZE, BINGET":       "\x80\x04\x95\x05\x00\x00\x00\x00\x00\x00\x00N\x94h\x00\x86.",
		"EXT1":                         "\x82\x01.",
		"NEXT_BUFFER, READONLY_BUFFER": "\x97\x98.",
		"PUT, GET":                     "Np0\n0g0\n.",
		"LONG_BINPUT, LONG_BINGET":     "Nr\x00\x01\x00\x000j\x00\x01\x00\x00.",
	} {
		if err := Check([]byte(b)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestLoadRecovers feeds a stream that Check accepts (CPython reads it as
// 0) but on which gopickle panics: Load must return an error.
func TestLoadRecovers(t *testing.T) {
	b := []byte("\x80\x02\x8a\x00.") // LONG1 of length 0
	if err := Check(b); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(b, Options{}); err == nil || !strings.HasPrefix(err.Error(), "pickle: ") {
		t.Errorf("error %v, want one starting pickle:", err)
	}
}

// FuzzLoad checks that Check and Load never panic, and that no proper
// prefix of an accepted stream is accepted (STOP must be its last byte).
func FuzzLoad(f *testing.F) {
	var seeds []fuzzcorpus.Seed
	for _, name := range []string{"containers.p0", "containers.p2", "shared.p4", "strings.p5", "cycle.p3"} {
		b, err := os.ReadFile(filepath.Join(pythonDir, name+".pkl"))
		if err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, fuzzcorpus.Seed{Name: name, Args: []any{b}})
	}
	seeds = append(seeds,
		fuzzcorpus.Seed{Name: "long1-empty", Args: []any{[]byte("\x80\x02\x8a\x00.")}},
		fuzzcorpus.Seed{Name: "binstring-2gib", Args: []any{[]byte("\x80\x02T\xff\xff\xff\x7f.")}},
		fuzzcorpus.Seed{Name: "after-stop", Args: []any{[]byte("\x80\x02K\x01.N")}},
	)
	fuzzcorpus.Check(f, seeds...)
	f.Fuzz(func(t *testing.T, b []byte) {
		_, err := Load(b, Options{})
		fuzzcorpus.OneLine(t, err)
		if err != nil {
			return
		}
		if err := Check(b[:len(b)-1]); err == nil {
			t.Fatalf("accepted both %q and its prefix", b)
		}
	})
}

func TestBrief(t *testing.T) {
	for _, tc := range []struct {
		v    any
		want string
	}{
		{"a\nb", `"a\nb"`},
		{7, `"7"`},
		{strings.Repeat("x", 61), `"` + strings.Repeat("x", 60) + `..."`},
	} {
		if got := Brief(tc.v); got != tc.want {
			t.Errorf("Brief(%#v) = %s, want %s", tc.v, got, tc.want)
		}
	}
}
