package rules

import "testing"

// The bucket at a latency threshold must be found whether the exporter's
// spelling of le reached Prometheus (300, 1.0) or Prometheus 3 rewrote it
// as a float (300.0), and must not match the neighbouring buckets.
func TestBucketMatcherFindsTheBucketInEverySpelling(t *testing.T) {
	for _, c := range []struct {
		threshold float64
		match     []string
		not       []string
	}{
		{300, []string{"300", "300.0"}, []string{"30", "3000", "300.5", "+Inf"}},
		{1, []string{"1", "1.0"}, []string{"10", "0.1", "1.5"}},
		{0.3, []string{"0.3"}, []string{"0.30", "3", "0x3"}},
		{1.5, []string{"1.5"}, []string{"1.50", "15"}},
		{1e6, []string{"1000000", "1e+06"}, []string{"1e+6", "100000"}},
	} {
		m := bucketMatcher(c.threshold)
		for _, le := range c.match {
			if !m.Matches(le) {
				t.Errorf("threshold %v: %s does not match le=%q", c.threshold, m, le)
			}
		}
		for _, le := range c.not {
			if m.Matches(le) {
				t.Errorf("threshold %v: %s matches le=%q", c.threshold, m, le)
			}
		}
	}
}
