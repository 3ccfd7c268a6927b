package fuzzcorpus

import "testing"

func TestEncode(t *testing.T) {
	got, err := encode([]any{[]byte{0, '"', 0xff, 'a'}, "é\n", true, -3})
	if err != nil {
		t.Fatal(err)
	}
	want := "go test fuzz v1\n[]byte(\"\\x00\\\"\\xffa\")\nstring(\"é\\n\")\nbool(true)\nint(-3)\n"
	if string(got) != want {
		t.Errorf("encoded\n%s\nwant\n%s", got, want)
	}
	if _, err := encode([]any{1.5}); err == nil {
		t.Error("float64 argument: no error")
	}
}
