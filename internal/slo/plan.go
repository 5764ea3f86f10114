package slo

import "time"

// MaxTerms is the most recorded series a composed window adds up. A window
// that would need more gets a helper window in between, so that the cost of
// a window stays constant however long it is.
const MaxTerms = 12

// Term is one part of a composed window: the value that the window Chunk
// recorded Offset ago, weighted by Weight. Chunks of a window follow each
// other without gap or overlap: a window of 1h is the 30m window now plus
// the 30m window 30m ago.
type Term struct {
	// Chunk is the window of the recorded series read.
	Chunk time.Duration
	// Offset is how long ago it was recorded; 0 for the present.
	Offset time.Duration
	// Weight is the span of time the term stands for: Chunk, or less for
	// the last term of a window that is not a multiple of the base window.
	Weight time.Duration
}

// WindowPlan says how the rate over one window is recorded.
type WindowPlan struct {
	// Window is the span of time the recorded rate covers.
	Window time.Duration
	// Terms is empty for the base window, which is read from the raw series
	// with rate() or avg_over_time(); otherwise the shorter recorded windows
	// whose weighted sum makes up this window, the present one first.
	Terms []Term
}

// Base says whether the window is read from raw series.
func (p WindowPlan) Base() bool { return len(p.Terms) == 0 }

// Plan returns how to record every window the objective reads, shortest
// first, so that each window is composed only of windows recorded before it
// in the same rule group: the base window from raw series, every longer one
// from at most MaxTerms recorded series read at an offset. Reading a
// recorded series at an offset costs one sample lookup, so a 30-day window
// costs no more than a 1-hour one, and raw series are never read over more
// than the base window.
func (o Objective) Plan() []WindowPlan {
	base := o.BaseWindow()
	wanted := map[time.Duration]bool{o.Window: true}
	for _, w := range o.StateWindows() {
		wanted[w] = true
	}
	return planWindows(base, sortedDurations(wanted))
}

func planWindows(base time.Duration, wanted []time.Duration) []WindowPlan {
	plans := []WindowPlan{{Window: base}}
	built := []time.Duration{base}
	add := func(w time.Duration) {
		plans = append(plans, WindowPlan{Window: w, Terms: compose(w, built)})
		built = append(built, w)
	}
	for _, w := range wanted {
		if w <= built[len(built)-1] {
			continue
		}
		// Helper windows between the longest one built and w, each a
		// multiple of the one before, until w needs at most MaxTerms terms.
		for longest := built[len(built)-1]; w/longest > MaxTerms; longest = built[len(built)-1] {
			add(longest * min(MaxTerms, w/2/longest))
		}
		add(w)
	}
	return plans
}

// compose covers w with the longest built windows that fit, present first.
// built is sorted ascending and starts with the base window. When the
// terms run out, the rest is covered by the shortest built window that spans
// it, weighted by the length of the rest: exact when the rest is a multiple
// of the base window, an average over a slightly longer span otherwise.
func compose(w time.Duration, built []time.Duration) []Term {
	var terms []Term
	var offset time.Duration
	for offset < w {
		rest := w - offset
		if len(terms) == MaxTerms-1 {
			chunk := built[len(built)-1]
			for i := len(built) - 1; i >= 0 && built[i] >= rest; i-- {
				chunk = built[i]
			}
			return append(terms, Term{Chunk: chunk, Offset: offset, Weight: rest})
		}
		chunk := built[0]
		for _, b := range built {
			if b <= rest {
				chunk = b
			}
		}
		weight := min(chunk, rest)
		terms = append(terms, Term{Chunk: chunk, Offset: offset, Weight: weight})
		offset += weight
	}
	return terms
}
