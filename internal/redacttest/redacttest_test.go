package redacttest

import "testing"

func TestIsPassword(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		prefix, suffix string
		want           bool
	}{
		{"redis://u:", "@h:1/0", true},
		{"mysql://u:pa#", "@h/db", true},
		{"postgres://h/db?password=", "", true},
		{"postgres://h/db?user=", "", false},
		{"redis://", ":1", false},
		{"redis://u:", "", false},
	} {
		if got := IsPassword(c.prefix, c.suffix); got != c.want {
			t.Errorf("IsPassword(%q, %q) = %v", c.prefix, c.suffix, got)
		}
	}
}

func TestShown(t *testing.T) {
	t.Parallel()
	if p := Shown(`port ":Zq7Wx" is bad`, "redis://u:", "@h"); p != "Zq7W" {
		t.Errorf("Shown = %q, want Zq7W", p)
	}
	if p := Shown(`host "Zq7W" is bad`, "redis://Zq7W", ""); p != "" {
		t.Errorf("Shown = %q for a piece the prefix holds", p)
	}
	if p := Shown(`user "u" is bad`, "", ""); p != "" {
		t.Errorf("Shown = %q", p)
	}
}
