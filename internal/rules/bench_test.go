package rules_test

import (
	"testing"

	"github.com/cxops/cx-operator/internal/rules"
	testsamples "github.com/cxops/cx-operator/test/utils/samples"
)

func BenchmarkGenerate(b *testing.B) {
	samples := testsamples.Load(b)
	o := samples.Model(b, samples.Objective(b, "checkout-errors"))
	for b.Loop() {
		_ = rules.Generate(o)
	}
}

func BenchmarkValidate(b *testing.B) {
	samples := testsamples.Load(b)
	spec := rules.Generate(samples.Model(b, samples.Objective(b, "checkout-errors")))
	for b.Loop() {
		if err := rules.Validate(spec); err != nil {
			b.Fatal(err)
		}
	}
}
