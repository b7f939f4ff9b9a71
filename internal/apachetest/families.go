package apachetest

import (
	"maps"
	"slices"
	"testing"
)

// shown is how many disagreeing cases of a family Families reports in
// full.
const shown = 5

// Families tallies a differential test's cases by family: counts of what
// happened, and the cases where the two sides disagree, the first few of
// each family reported in full. The zero value is ready to use.
type Families struct {
	counts map[string]map[string]int
	n, bad map[string]int
}

// Add counts a case of family under each of keys (its outcome, and
// whatever else is worth summing up) and, when it disagrees, reports r
// as an error, if fewer than five of its family are reported yet.
func (f *Families) Add(t testing.TB, family string, disagrees bool, r any, keys ...string) {
	t.Helper()
	if f.counts == nil {
		f.counts, f.n, f.bad = map[string]map[string]int{}, map[string]int{}, map[string]int{}
	}
	if f.counts[family] == nil {
		f.counts[family] = map[string]int{}
	}
	for _, k := range keys {
		f.counts[family][k]++
	}
	f.n[family]++
	if disagrees {
		f.bad[family]++
		if f.bad[family] <= shown {
			t.Errorf("%v", r)
		}
	}
}

// Done logs the counts of each family, fails for the disagreements not
// shown, and returns the number of cases.
func (f *Families) Done(t testing.TB) int {
	t.Helper()
	total := 0
	for _, fam := range slices.Sorted(maps.Keys(f.counts)) {
		n, bad := f.n[fam], f.bad[fam]
		total += n
		t.Logf("%-10s %4d cases, Apache: %v", fam, n, f.counts[fam])
		if bad > shown {
			t.Errorf("%s: %d of %d cases disagree (first %d shown)", fam, bad, n, shown)
		}
	}
	return total
}
