package apinames

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// moduleRoot is the folder of the go.mod above this package.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's folder")
		}
		dir = parent
	}
}

// exportedNames returns the exported names that the non-test files in dir
// declare, by scope: "" for the package, the type's name for its methods.
// Files of every build tag count: a name in kernels_amd64.go and the same
// name in kernels_arm64.go are one name.
func exportedNames(t *testing.T, dir string) map[string][]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string][]string{}
	add := func(scope string, id *ast.Ident) {
		if id.IsExported() && !slices.Contains(names[scope], id.Name) {
			names[scope] = append(names[scope], id.Name)
		}
	}
	fset := token.NewFileSet()
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, e.Name()), nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			switch d := decl.(type) {
			case *ast.FuncDecl:
				scope := ""
				if d.Recv != nil {
					scope = receiverType(d.Recv.List[0].Type)
				}
				add(scope, d.Name)
			case *ast.GenDecl:
				for _, spec := range d.Specs {
					switch s := spec.(type) {
					case *ast.TypeSpec:
						add("", s.Name)
					case *ast.ValueSpec:
						for _, id := range s.Names {
							add("", id)
						}
					}
				}
			}
		}
	}
	return names
}

// receiverType is the name of a method's receiver type: T of T, *T, T[P]
// or *T[P].
func receiverType(x ast.Expr) string {
	for {
		switch e := x.(type) {
		case *ast.StarExpr:
			x = e.X
		case *ast.IndexExpr:
			x = e.X
		case *ast.IndexListExpr:
			x = e.X
		case *ast.Ident:
			return e.Name
		default:
			return ""
		}
	}
}

// caseTwins returns the pairs of distinct names equal under
// strings.EqualFold.
func caseTwins(names []string) [][2]string {
	var twins [][2]string
	for i, a := range names {
		for _, b := range names[i+1:] {
			if a != b && strings.EqualFold(a, b) {
				twins = append(twins, [2]string{a, b})
			}
		}
	}
	return twins
}

func TestCaseTwins(t *testing.T) {
	for _, c := range []struct {
		names []string
		want  int
	}{
		{[]string{"Conv2d", "Conv2D"}, 1},
		{[]string{"Conv2d", "NewConv2d", "FunctionalConv2d"}, 0},
		{[]string{"SGD", "Sgd", "sgd"}, 3},
		{nil, 0},
	} {
		if got := caseTwins(c.names); len(got) != c.want {
			t.Errorf("caseTwins(%q) = %q, want %d pairs", c.names, got, c.want)
		}
	}
}

// TestNoExportedNamesDifferOnlyInCase parses every package of the module
// (the asm generator, a module of its own, too).
func TestNoExportedNamesDifferOnlyInCase(t *testing.T) {
	root := moduleRoot(t)
	packages := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		if name := d.Name(); path != root && (name == "testdata" || strings.HasPrefix(name, ".")) {
			return filepath.SkipDir
		}
		names := exportedNames(t, path)
		if len(names) > 0 {
			packages++
		}
		for scope, list := range names {
			for _, pair := range caseTwins(list) {
				where, _ := filepath.Rel(root, path)
				if scope != "" {
					where += " (methods of " + scope + ")"
				}
				t.Errorf("%s: exported names %s and %s differ only in case; rename one to say what it is", where, pair[0], pair[1])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// A walk that found nothing would pass for the wrong reason.
	if packages < 8 {
		t.Fatalf("found exported names in %d folders under %s, want the module's packages", packages, root)
	}
}
