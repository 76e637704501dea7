package shard

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"testing"
)

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    Shard
		wantErr bool
		syntax  bool
	}{
		{in: "0/1", want: Shard{0, 1}},
		{in: "0/4", want: Shard{0, 4}},
		{in: "3/4", want: Shard{3, 4}},
		{in: "9999/10000", want: Shard{9999, 10000}},
		{in: "4/4", wantErr: true},
		{in: "0/0", wantErr: true},
		{in: "0/10001", wantErr: true},
		{in: "", wantErr: true, syntax: true},
		{in: "1", wantErr: true, syntax: true},
		{in: "-1/4", wantErr: true, syntax: true},
		{in: "+1/4", wantErr: true, syntax: true},
		{in: " 1/4", wantErr: true, syntax: true},
		{in: "01/4", wantErr: true, syntax: true},
		{in: "1/4/5", wantErr: true, syntax: true},
		{in: "1/", wantErr: true, syntax: true},
		{in: "/4", wantErr: true, syntax: true},
		{in: "1/4x", wantErr: true, syntax: true},
		{in: "99999999999999999999/4", wantErr: true, syntax: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Parse(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Parse(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			}
			if errors.Is(err, ErrSyntax) != tt.syntax {
				t.Errorf("Parse(%q) error = %v, want ErrSyntax %v", tt.in, err, tt.syntax)
			}
			if err == nil && (got != tt.want || got.String() != tt.in) {
				t.Errorf("Parse(%q) = %+v (%q), want %+v", tt.in, got, got.String(), tt.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		s       Shard
		wantErr bool
	}{
		{Shard{}, false},
		{Shard{0, 1}, false},
		{Shard{7, 8}, false},
		{Shard{8, 8}, true},
		{Shard{-1, 8}, true},
		{Shard{1, 0}, true},
		{Shard{0, MaxCount + 1}, true},
	}
	for _, tt := range tests {
		if err := tt.s.Validate(); (err != nil) != tt.wantErr {
			t.Errorf("%+v.Validate() = %v, want error %v", tt.s, err, tt.wantErr)
		}
	}
}

// TestOfStable pins the assignment: it must never change between releases,
// Go versions or machines, or shards of different versions would disagree.
// The keys are the first 8 bytes of `printf %s REPO:TAG | sha256sum`.
func TestOfStable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		repo, tag string
		n         int
		key       uint64
		want      int
	}{
		{"registry.example.com/mirror/podinfo", "6.10.2", 4, 0x67d86041ceff7550, 0},
		{"registry.example.com/mirror/podinfo", "6.10.1", 4, 0x45a33eca161b3543, 3},
		{"registry.example.com/mirror/podinfo", "latest", 8, 0xed5b1f27e8e7eaca, 2},
		{"localhost:5000/charts/podinfo", "6.5.0_build.1", 3, 0x1e02908808345af3, 0},
		{"r/a", "x", 1000, 0xcb0739adc95d7864, 124},
	}
	for _, tt := range tests {
		if got := key(tt.repo, tt.tag); got != tt.key {
			t.Errorf("key(%q, %q) = %#x, want %#x", tt.repo, tt.tag, got, tt.key)
		}
		if got := Of(tt.repo, tt.tag, tt.n); got != tt.want || got != int(tt.key%uint64(tt.n)) {
			t.Errorf("Of(%q, %q, %d) = %d, want %d", tt.repo, tt.tag, tt.n, got, tt.want)
		}
	}
}

// TestBalanced: 1,000 tags of one repository over 8 shards put no shard
// above 1.3 times the mean (and none below 0.7 times), for several
// repositories and tag shapes.
func TestBalanced(t *testing.T) {
	t.Parallel()
	shapes := map[string]func(i int) string{
		"semver":  func(i int) string { return fmt.Sprintf("%d.%d.%d", i/100, i/10%10, i%10) },
		"counter": strconv.Itoa,
		"sha":     func(i int) string { return fmt.Sprintf("sha-%07x", i*2654435761%(1<<28)) },
	}
	for _, repo := range []string{"mirror.example.com/team/app", "localhost:5000/a", "r/b"} {
		for name, tag := range shapes {
			t.Run(repo+"/"+name, func(t *testing.T) {
				t.Parallel()
				const tags, n = 1000, 8
				counts := make([]int, n)
				for i := range tags {
					counts[Of(repo, tag(i), n)]++
				}
				mean := float64(tags) / n
				for s, c := range counts {
					if float64(c) > 1.3*mean || float64(c) < 0.7*mean {
						t.Errorf("shard %d/%d owns %d of %d tags (mean %.0f): %v", s, n, c, tags, mean, counts)
					}
				}
			})
		}
	}
}

// TestCoverExactlyOnce: for every count, each tag is owned by exactly one
// shard, and the shards' Filter outputs partition the input positions.
func TestCoverExactlyOnce(t *testing.T) {
	t.Parallel()
	tags := make([]string, 300)
	for i := range tags {
		tags[i] = fmt.Sprintf("v%d.%d", i/10, i%10)
	}
	for _, n := range []int{1, 2, 3, 4, 7, 8, 16, 301} {
		var all []int
		for i := range n {
			s := Shard{Index: i, Count: n}
			own := s.Filter("r.example/x", tags, nil)
			if !slices.IsSorted(own) {
				t.Errorf("shard %s: positions %v not in input order", s, own)
			}
			for _, p := range own {
				owners := 0
				for j := range n {
					if (Shard{Index: j, Count: n}).Owns("r.example/x", tags[p]) {
						owners++
					}
				}
				if owners != 1 {
					t.Errorf("%d shards: tag %q has %d owners", n, tags[p], owners)
				}
			}
			all = append(all, own...)
		}
		slices.Sort(all)
		want := make([]int, len(tags))
		for i := range want {
			want[i] = i
		}
		if !slices.Equal(all, want) {
			t.Errorf("%d shards cover %d positions, want each of %d once", n, len(all), len(tags))
		}
	}
}

// TestAddingATagMovesNoOther: the owner of a tag depends on the tag alone,
// not on which other tags exist or their order.
func TestAddingATagMovesNoOther(t *testing.T) {
	t.Parallel()
	base := []string{"1.0.0", "1.1.0", "1.2.0", "2.0.0", "latest"}
	more := append(slices.Clone(base), "3.0.0", "0.9.0")
	slices.Reverse(more)
	for n := 1; n <= 6; n++ {
		for i := range n {
			s := Shard{Index: i, Count: n}
			before := map[string]bool{}
			for _, p := range s.Filter("r/x", base, nil) {
				before[base[p]] = true
			}
			for _, p := range s.Filter("r/x", more, nil) {
				if slices.Contains(base, more[p]) && !before[more[p]] {
					t.Errorf("%s: %q moved to this shard when tags were added", s, more[p])
				}
				delete(before, more[p])
			}
			if len(before) > 0 {
				t.Errorf("%s: %v moved away when tags were added", s, before)
			}
		}
	}
}

func TestWhole(t *testing.T) {
	t.Parallel()
	var s Shard
	if !s.Whole() || s.String() != "" || !s.Owns("any/repo", "any") {
		t.Errorf("zero Shard: Whole %v, String %q, want the whole run owning every tag", s.Whole(), s.String())
	}
	if got := s.Filter("r", []string{"a", "b", "c"}, nil); !slices.Equal(got, []int{0, 1, 2}) {
		t.Errorf("zero Shard Filter = %v, want every position", got)
	}
	if got := Of("r", "a", 0); got != 0 {
		t.Errorf("Of(_, _, 0) = %d, want 0", got)
	}
}

// TestFilterTagOf: Filter hashes the destination tag tagOf returns, as a
// chart version is stored under its OCI tag.
func TestFilterTagOf(t *testing.T) {
	t.Parallel()
	versions := []string{"1.0.0+a", "1.0.0+b", "2.0.0"}
	toTag := func(v string) string { return v + "-stored" }
	for n := 2; n <= 4; n++ {
		for i := range n {
			s := Shard{Index: i, Count: n}
			for _, p := range s.Filter("r/c", versions, toTag) {
				if Of("r/c", toTag(versions[p]), n) != i {
					t.Errorf("%s owns %q by its version, not its stored tag", s, versions[p])
				}
			}
		}
	}
}

// FuzzParse: Parse never panics, and what it accepts is valid and prints
// back as its input.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"0/1", "3/4", "4/4", "", "a/b", "01/2", "-1/3", "9999/10000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		s, err := Parse(in)
		if err != nil {
			return
		}
		if s.Validate() != nil || s.Whole() || s.String() != in {
			t.Errorf("Parse(%q) = %+v, which is invalid or prints as %q", in, s, s.String())
		}
	})
}
