package main

import (
	"strings"
	"testing"
)

func TestReplaceSection(t *testing.T) {
	section := SectionHeading + "\n\nnew figures\n"
	cases := []struct {
		name, doc, want string
	}{
		{
			name: "an empty document gets the section",
			doc:  "",
			want: section,
		},
		{
			name: "a document without the section gets it at the end",
			doc:  "# Benchmarks\n\nintro\n",
			want: "# Benchmarks\n\nintro\n\n" + section,
		},
		{
			name: "the section is replaced up to the next section, which stays",
			doc:  "# Benchmarks\n\n" + SectionHeading + "\n\nold figures\n\n## Another benchmark\n\ntheirs\n",
			want: "# Benchmarks\n\n" + section + "\n## Another benchmark\n\ntheirs\n",
		},
		{
			name: "a section at the end is replaced to the end",
			doc:  "# Benchmarks\n\n## Earlier\n\nx\n\n" + SectionHeading + "\n\nold\n### Results: 4 days of history\n\nold\n",
			want: "# Benchmarks\n\n## Earlier\n\nx\n\n" + section,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := replaceSection(c.doc, section); got != c.want {
				t.Errorf("got\n%s\nwant\n%s", got, c.want)
			}
		})
	}
}

func TestResultsOfKeepsEachHistoryLength(t *testing.T) {
	section := SectionHeading + "\n\nintro\n\n### Method\n\nhow\n\n" +
		resultsHeading(4) + "\n\nfour\n\n" + resultsHeading(30) + "\n\nthirty\n"
	got := resultsOf(section)
	if len(got) != 2 {
		t.Fatalf("found %d results, want 2: %v", len(got), got)
	}
	if !strings.Contains(got[4], "four") || strings.Contains(got[4], "thirty") || strings.Contains(got[4], "how") {
		t.Errorf("4 days: %q", got[4])
	}
	if !strings.Contains(got[30], "thirty") {
		t.Errorf("30 days: %q", got[30])
	}
	if sectionOf("# B\n\n"+section+"\n## Next\n") != section+"\n" {
		t.Errorf("sectionOf did not return the section: %q", sectionOf("# B\n\n"+section+"\n## Next\n"))
	}
}

func TestThousands(t *testing.T) {
	for in, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 8121600: "8,121,600"} {
		if got := thousands(in); got != want {
			t.Errorf("thousands(%d) = %q, want %q", in, got, want)
		}
	}
}
