package api

import "testing"

func TestCanonical(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"676794.810656250", "676794.81065625"},
		{"676794.81065625", "676794.81065625"},
		{"2.000", "2"},
		{"2", "2"},
		{"0.00", "0"},
		{"0", "0"},
		{"-0.00", "0"},
		{"-12.50", "-12.5"},
		{"100", "100"},
		{"100.0", "100"},
		{"0.0010", "0.001"},
		{"", ""},
		{"1.5e3", "1500"},
		{"1E-2", "0.01"},
		{"007.50", "7.5"},
		{"+3.10", "3.1"},
		{"NaN", "NaN"},
	} {
		if got := canonical(tc.in); got != tc.want {
			t.Errorf("canonical(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
