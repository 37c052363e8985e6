package jobqueue

import "testing"

func TestVersionAtLeast(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		version string
		want    bool
	}{
		{"2.9.10", false},
		{"2.10.3", false},
		{"2.10.4", true},
		{"2.10.10", true},
		{"2.11.0-RC.1", true},
		{"2.15.2", true},
		{"3.0.0", true},
		{"1.99.99", false},
		{"", true},
		{"dev", true},
	} {
		t.Run(tc.version, func(t *testing.T) {
			t.Parallel()
			if got := versionAtLeast(tc.version, 2, 10, 4); got != tc.want {
				t.Errorf("versionAtLeast(%q, 2.10.4) = %v, want %v", tc.version, got, tc.want)
			}
		})
	}
}
