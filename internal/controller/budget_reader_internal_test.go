package controller

import (
	"fmt"
	"testing"
	"time"
)

func TestSpreadPlacesEachNamespaceAtTheSamePlaceOfThePeriod(t *testing.T) {
	seen := map[time.Duration]bool{}
	for _, ns := range []string{"shop", "support", "growth", "finance", "platform"} {
		a, b := spread(ns, time.Minute), spread(ns, time.Minute)
		if a != b || a < 0 || a >= 45*time.Second {
			t.Fatalf("%s: %s then %s", ns, a, b)
		}
		seen[a] = true
	}
	if len(seen) < 4 {
		t.Fatalf("five namespaces land on %d places", len(seen))
	}
}

// Namespaces with names alike (team-001, team-002, ...) must still be read
// all over the period, not in a burst: 100 of them over the 45 s of a 1m
// period are about 2 a second.
func TestSpreadSpreadsLikeNamedNamespacesOverThePeriod(t *testing.T) {
	const n = 100
	perSecond := map[int]int{}
	var last time.Duration
	for i := range n {
		at := spread(fmt.Sprintf("team-%03d", i), time.Minute)
		perSecond[int(at/time.Second)]++
		last = max(last, at)
	}
	busiest := 0
	for _, c := range perSecond {
		busiest = max(busiest, c)
	}
	// Uniform at random, the busiest of 45 seconds holds about 7 of 100.
	if busiest > 8 || len(perSecond) < 35 || last < 40*time.Second {
		t.Fatalf("100 namespaces over 45 s: busiest second holds %d, %d seconds used, last at %s", busiest, len(perSecond), last)
	}
}
