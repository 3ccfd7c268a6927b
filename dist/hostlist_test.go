package dist

import (
	"reflect"
	"strings"
	"testing"
)

func TestExpandHostlist(t *testing.T) {
	for _, tc := range []struct {
		expr string
		want string // hosts joined by spaces
	}{
		{"n1", "n1"},
		{"n[1-2]", "n1 n2"},
		{"node[01-04,07]", "node01 node02 node03 node04 node07"},
		{"n[08-10]", "n08 n09 n10"},
		{"n[8-10]", "n8 n9 n10"},
		{"rack[1-2]-n[01-02]", "rack1-n01 rack1-n02 rack2-n01 rack2-n02"},
		{"a[1-2]-b[3-4]", "a1-b3 a1-b4 a2-b3 a2-b4"},
		{"tux[0-2,12],login1,gpu7[3-4]x", "tux0 tux1 tux2 tux12 login1 gpu73x gpu74x"},
		{"c1n[9-10] c2n1", "c1n9 c1n10 c2n1"},
		{"[3-4]n", "3n 4n"},
		{"x[007]", "x007"},
		{"n1,,n2,", "n1 n2"},
	} {
		got, err := ExpandHostlist(tc.expr)
		if err != nil {
			t.Errorf("ExpandHostlist(%q): %v", tc.expr, err)
			continue
		}
		if want := strings.Fields(tc.want); !reflect.DeepEqual(got, want) {
			t.Errorf("ExpandHostlist(%q) = %q, want %q", tc.expr, got, want)
		}
	}
}

func TestExpandHostlistErrors(t *testing.T) {
	for _, tc := range []struct{ expr, want string }{
		{"", `dist: hostlist "": no hosts`},
		{"n[1-2", `dist: hostlist "n[1-2": "n[1-2": '[' without matching ']'`},
		{"n1-2]", `dist: hostlist "n1-2]": "n1-2]": ']' without '['`},
		{"n[[1]]", `'[' without matching ']'`},
		{"n[4-2]", `range "4-2" runs backwards`},
		{"n[a-b]", `"a" in brackets is not a number or range lo-hi`},
		{"n[1,]", `"" in brackets is not a number or range lo-hi`},
		{"n[-3]", `"" in brackets is not a number or range lo-hi`},
		{"n[0-99999999]", `[0-99999999] has more than 1048576 hosts`},
		{"n[0-999999,0-999999]", `[0-999999,0-999999] has more than 1048576 hosts`},
		{"a[1-3],b[0-1048573]", `[0-1048573] has more than 1048576 hosts`},
		{"a[0-9999]b[0-9999]", `more than 1048576 hosts`},
		{"n[99999999999999999999]", `"99999999999999999999" in brackets is too large`},
	} {
		_, err := ExpandHostlist(tc.expr)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("ExpandHostlist(%q) error = %v, want one line containing %q", tc.expr, err, tc.want)
		}
	}
}

func TestExpandTasksPerNode(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []int
		bad  bool
	}{
		{in: "2(x2)", want: []int{2, 2}},
		{in: "4", want: []int{4}},
		{in: "2(x3),1,3(x1)", want: []int{2, 2, 2, 1, 3}},
		{in: "2(x)", bad: true},
		{in: "0", bad: true},
		{in: "x", bad: true},
		{in: "", bad: true},
	} {
		got, err := expandTasksPerNode(tc.in)
		if tc.bad != (err != nil) || !tc.bad && !reflect.DeepEqual(got, tc.want) {
			t.Errorf("expandTasksPerNode(%q) = %v, %v; want %v (error: %v)", tc.in, got, err, tc.want, tc.bad)
		}
	}
}

// FuzzExpandHostlist checks that no expression panics and that every host
// produced is a plain name.
func FuzzExpandHostlist(f *testing.F) {
	for _, s := range []string{"n[01-04,07]", "rack[1-2]-n[01-02]", "a,b c", "n[1-", "x[9-10]y[1]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		hosts, err := ExpandHostlist(expr)
		if err != nil {
			if strings.Contains(err.Error(), "\n") && !strings.Contains(expr, "\n") {
				t.Errorf("ExpandHostlist(%q): error of several lines: %v", expr, err)
			}
			return
		}
		if len(hosts) == 0 || len(hosts) > maxHosts {
			t.Errorf("ExpandHostlist(%q) gave %d hosts", expr, len(hosts))
		}
		for _, h := range hosts {
			if h == "" || strings.ContainsAny(h, "[], \t\n") {
				t.Errorf("ExpandHostlist(%q) gave host %q", expr, h)
			}
		}
	})
}
