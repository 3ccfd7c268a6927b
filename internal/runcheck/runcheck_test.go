package runcheck

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func write(t *testing.T, dir string, files map[string]string) string {
	t.Helper()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestDiff(t *testing.T) {
	base := map[string]string{
		"metrics.jsonl":    `{"epoch":1,"top1":50,"seconds":3.5,"eval_seconds":0.5,"img_per_s":100,"data_wait_seconds":0}` + "\n" + `{"epoch":2,"top1":60,"seconds":3,"eval_seconds":0.4,"img_per_s":110,"data_wait_seconds":0.01}` + "\n",
		"last.safetensors": "model",
	}
	for _, c := range []struct {
		name   string
		change map[string]string
		want   string // "" for no difference
	}{
		{"timing only", map[string]string{"metrics.jsonl": `{"epoch":1,"top1":50,"seconds":9,"eval_seconds":2,"img_per_s":1,"data_wait_seconds":0.5}` + "\n" + `{"epoch":2,"top1":60,"seconds":1,"eval_seconds":0.1,"img_per_s":2,"data_wait_seconds":0}`}, ""},
		{"a metric", map[string]string{"metrics.jsonl": `{"epoch":1,"top1":50,"seconds":3.5,"eval_seconds":0.5,"img_per_s":100,"data_wait_seconds":0}` + "\n" + `{"epoch":2,"top1":61,"seconds":3,"eval_seconds":0.4,"img_per_s":110,"data_wait_seconds":0.01}`}, "metrics.jsonl differs"},
		{"a checkpoint", map[string]string{"last.safetensors": "modem"}, "last.safetensors differs"},
		{"another file", map[string]string{"best.safetensors": "model"}, "files ["},
	} {
		t.Run(c.name, func(t *testing.T) {
			a, b := write(t, t.TempDir(), base), write(t, t.TempDir(), base)
			write(t, b, c.change)
			diffs, err := Diff(a, b)
			if err != nil {
				t.Fatal(err)
			}
			got := strings.Join(diffs, "; ")
			if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
				t.Errorf("diffs %q, want %q", got, c.want)
			}
		})
	}
	a := write(t, t.TempDir(), map[string]string{"metrics.jsonl": `{"epoch":1}`})
	if _, err := Diff(a, a); err == nil || !strings.Contains(err.Error(), "no timing field") {
		t.Errorf("metrics without timing fields: error %v", err)
	}
}
