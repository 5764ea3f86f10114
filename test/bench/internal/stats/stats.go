// Package stats holds the order statistics the benchmarks report.
package stats

import (
	"cmp"
	"slices"
)

// Quantile returns the q-quantile of xs by nearest rank (q 0.5: the
// median, q 0.99: p99), the zero value for no xs. xs is left as it is.
func Quantile[T cmp.Ordered](xs []T, q float64) T {
	if len(xs) == 0 {
		var zero T
		return zero
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	i := int(q*float64(len(s))+0.5) - 1
	return s[min(max(i, 0), len(s)-1)]
}
