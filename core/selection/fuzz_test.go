package selection

import (
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// FuzzSelect checks the invariants of Select on arbitrary tags and
// selectors: it never panics, selects a subset of the input without
// duplicates, sorted highest first, within the limit, and independently of
// the input order.
func FuzzSelect(f *testing.F) {
	f.Add("6.0.0\n6.1.0\nv6.1.0\n7.0.0-rc.1\nlatest", "", "", "6.x", "", 2)
	f.Add("a-1\nb-2\nc-10\nx", `^\w-(?P<n>\d+)$`, "$n", "", "numerical", 0)
	f.Add("RELEASE.2024\nRELEASE.2023\n1.0.0", "RELEASE", "", "", "alphabetical", 1)
	f.Add("1e3\n1000\n-0\n0\n.5\n12345678901234567890", "", "", "", "numerical", 0)
	f.Add("1.0.0+a\n1.0.0+b\nv1\n1.0", "", "", ">=1.0.0-0", "semver", -1)
	f.Add("v1.2.3-x\nv1.2.3-y", `^v(\d+)\.(\d+)`, "${1}.$2", "*", "alphabetical", 3)
	f.Fuzz(func(t *testing.T, tagList, pattern, extract, semverRange, sortBy string, limit int) {
		sel := Selector{Semver: semverRange, SortBy: SortBy(sortBy)}
		if pattern != "" || extract != "" {
			sel.Regex = &Regex{Pattern: pattern, Extract: extract}
		}
		if limit >= 0 {
			sel.Limit = &limit
		}
		p, err := NewPolicy(sel)
		if err != nil {
			return
		}
		tags := strings.Split(tagList, "\n")
		got := Select(tags, p)

		wantMax := len(tags)
		if limit != 0 {
			wantMax = min(wantMax, max(limit, 0))
			if limit < 0 {
				wantMax = min(len(tags), DefaultLimit)
			}
		}
		if len(got) > wantMax {
			t.Fatalf("selected %d tags, limit allows %d: %q", len(got), wantMax, got)
		}
		seen := map[string]bool{}
		for _, g := range got {
			if !slices.Contains(tags, g) {
				t.Fatalf("selected %q, which is not an input tag", g)
			}
			if seen[g] {
				t.Fatalf("selected %q twice", g)
			}
			seen[g] = true
		}
		// Sorted: each consecutive pair is in pipeline order.
		cmpKey := p.compare()
		for i := 1; i < len(got); i++ {
			a, okA := p.candidate(got[i-1])
			b, okB := p.candidate(got[i])
			if !okA || !okB {
				t.Fatalf("selected a tag the filters reject: %q", got)
			}
			c := cmpKey(a, b)
			if c < 0 || c == 0 && a.tag >= b.tag {
				t.Fatalf("not sorted highest first at %d: %q", i, got)
			}
		}
		// Permutation invariance: reversed and rotated inputs select the same.
		rev := slices.Clone(tags)
		slices.Reverse(rev)
		if r := Select(rev, p); !slices.Equal(r, got) {
			t.Fatalf("reversed input selected %q, want %q", r, got)
		}
		if len(tags) > 1 {
			rot := append(slices.Clone(tags[1:]), tags[0])
			if r := Select(rot, p); !slices.Equal(r, got) {
				t.Fatalf("rotated input selected %q, want %q", r, got)
			}
		}
		// Without a limit, selecting from the selection changes nothing.
		if limit == 0 {
			if again := Select(got, p); !slices.Equal(again, got) {
				t.Fatalf("reselect gave %q, want %q", again, got)
			}
		}
	})
}

// FuzzDecimal cross-checks the exact decimal comparison against float64:
// whenever two keys differ as floats, the exact order must agree, and
// comparison must be antisymmetric.
func FuzzDecimal(f *testing.F) {
	f.Add("1", "2")
	f.Add("-1.5e3", "-1500")
	f.Add(".5", "5e-1")
	f.Add("12345678901234567891", "12345678901234567890")
	f.Fuzz(func(t *testing.T, a, b string) {
		da, okA := parseDecimal(a)
		db, okB := parseDecimal(b)
		if okA != validFloat(a) || okB != validFloat(b) {
			t.Fatalf("parseDecimal disagrees with the decimal grammar on %q or %q", a, b)
		}
		if !okA || !okB {
			return
		}
		c := da.compare(db)
		if c != -db.compare(da) {
			t.Fatalf("compare(%q, %q) is not antisymmetric", a, b)
		}
		fa, errA := strconv.ParseFloat(a, 64)
		fb, errB := strconv.ParseFloat(b, 64)
		if errA != nil || errB != nil || math.IsInf(fa, 0) || math.IsInf(fb, 0) {
			return // out of float64 range; the exact order still holds
		}
		if fa < fb && c >= 0 || fa > fb && c <= 0 {
			t.Fatalf("compare(%q, %q) = %d, but as floats %v vs %v", a, b, c, fa, fb)
		}
	})
}

var decimalGrammar = regexp.MustCompile(`^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?0*\d{1,10})?$`)

// validFloat is the numerical key grammar as a regular expression, plus the
// exponent bound.
func validFloat(s string) bool {
	m := decimalGrammar.FindStringSubmatch(s)
	if m == nil {
		return false
	}
	if m[2] == "" {
		return true
	}
	e, err := strconv.ParseInt(strings.TrimLeft(m[2][1:], "+-"), 10, 64)
	return err == nil && e <= maxExponent
}
