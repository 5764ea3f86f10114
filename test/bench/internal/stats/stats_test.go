package stats

import "testing"

func TestQuantileIsTheNearestRank(t *testing.T) {
	xs := []int{9, 1, 8, 2, 7, 3, 6, 4, 5, 10}
	tests := []struct {
		name string
		q    float64
		want int
	}{
		{"the median of ten is the fifth", 0.5, 5},
		{"p90 of ten is the ninth", 0.9, 9},
		{"p99 of ten is the largest", 0.99, 10},
		{"q 0 is the smallest", 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Quantile(xs, tt.q); got != tt.want {
				t.Errorf("Quantile(%v) = %d, want %d", tt.q, got, tt.want)
			}
		})
	}
	if xs[0] != 9 {
		t.Errorf("Quantile sorted its input: %v", xs)
	}
	if got := Quantile([]float64(nil), 0.5); got != 0 {
		t.Errorf("Quantile of nothing = %v, want 0", got)
	}
}
