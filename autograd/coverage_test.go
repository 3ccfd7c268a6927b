package autograd_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"slices"
	"strings"
	"testing"
)

// notOps are the exported functions returning a *Var that have no
// finite-difference case of their own, and why.
var notOps = map[string]string{
	"Param":   "makes a leaf",
	"Const":   "makes a leaf",
	"ConstIn": "makes a leaf: TestArenaGraphMatchesHeap",
	"Detach":  "makes a leaf: no gradient to check (TestDetachStopsGradient)",
	"Custom":  "records the caller's rule: TestCustom here, and the gradcheck tests of package nn for nn's rules",
}

// exportedOps returns the exported functions of autograd's non-test files
// that return a single *Var.
func exportedOps(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	var ops []string
	fset := token.NewFileSet()
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, e.Name(), nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Recv != nil || !fn.Name.IsExported() || fn.Type.Results == nil || len(fn.Type.Results.List) != 1 {
				continue
			}
			if star, ok := fn.Type.Results.List[0].Type.(*ast.StarExpr); ok {
				if id, ok := star.X.(*ast.Ident); ok && id.Name == "Var" {
					ops = append(ops, fn.Name.Name)
				}
			}
		}
	}
	return ops
}

// gradcheckedOps returns the autograd functions that gradCases (the table
// of TestGradients, in ops_test.go) calls or passes on.
func gradcheckedOps(t *testing.T) map[string]bool {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "ops_test.go", nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	for _, d := range f.Decls {
		if fn, ok := d.(*ast.FuncDecl); ok && fn.Name.Name == "gradCases" {
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				if sel, ok := n.(*ast.SelectorExpr); ok {
					if pkg, ok := sel.X.(*ast.Ident); ok && pkg.Name == "autograd" {
						used[sel.Sel.Name] = true
					}
				}
				return true
			})
		}
	}
	if len(used) == 0 {
		t.Fatal("found no gradCases in ops_test.go, or it uses no autograd function")
	}
	return used
}

// TestEveryOpHasGradcheckCase fails when an exported op of the package
// has no case in TestGradients' table: a new op needs one.
func TestEveryOpHasGradcheckCase(t *testing.T) {
	ops := exportedOps(t)
	covered := gradcheckedOps(t)
	for _, op := range ops {
		if _, exempt := notOps[op]; !exempt && !covered[op] {
			t.Errorf("autograd.%s has no finite-difference case: add one to gradCases in ops_test.go", op)
		}
	}
	for name := range notOps {
		if !slices.Contains(ops, name) {
			t.Errorf("notOps lists %s, which is no exported function returning *Var: remove it", name)
		}
	}
	if len(ops) < 40 {
		t.Errorf("found %d exported ops, want the package's 40 or more: is the parse looking at the right files?", len(ops))
	}
}
