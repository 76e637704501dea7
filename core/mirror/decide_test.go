package mirror

import (
	"fmt"
	"testing"

	"github.com/fluxcd/flux-mirror/core/report"
)

// TestDecide is the drift rule's one table. A row holds for every value of
// the flags it leaves nil (both false and true), and the table covers every
// combination of object, destination state, earlier write, overwrite and
// dry run exactly once.
func TestDecide(t *testing.T) {
	t.Parallel()
	both := []bool(nil)
	no, yes := []bool{false}, []bool{true}
	objects := []object{objectTag, objectReferrer}
	tag, ref := []object{objectTag}, []object{objectReferrer}
	const copied, overwritten = report.StatusCopied, report.StatusOverwritten
	wrote := []report.Status{"", copied, overwritten}
	unwritten := []report.Status{""}
	leave := func(s report.Status, r report.Reason) decision { return decision{act: actLeave, status: s, reason: r} }

	tests := []struct {
		name      string
		objects   []object
		state     destState
		wrote     []report.Status
		overwrite []bool
		dryRun    []bool
		want      decision
	}{
		{"same is up to date", objects, destSame, unwritten, both, both, leave(report.StatusSkipped, report.ReasonUpToDate)},
		{"same after this job's copy was sent", objects, destSame, []report.Status{copied}, both, both, leave(copied, "")},
		{"same after this job's overwrite was sent", objects, destSame, []report.Status{overwritten}, both, both, leave(overwritten, "")},

		{"missing is copied", objects, destMissing, wrote, both, no, decision{act: actCopy, status: copied}},
		{"missing under dry run", objects, destMissing, wrote, both, yes, leave(report.StatusWouldCopy, "")},

		{"a differing tag drifts", tag, destDiffers, wrote, no, both, leave(report.StatusDrifted, "")},
		{"a differing referrer is skipped", ref, destDiffers, wrote, no, both, leave(report.StatusSkipped, report.ReasonReferrerDiffers)},
		{"differs with overwrite", objects, destDiffers, wrote, yes, no, decision{act: actOverwrite, status: overwritten}},
		{"differs with overwrite under dry run", objects, destDiffers, wrote, yes, yes, leave(report.StatusWouldOverwrite, "")},

		{"foreign content is refused", objects, destForeign, wrote, no, both, decision{act: actRefuse}},
		{"foreign content with overwrite", objects, destForeign, wrote, yes, no, decision{act: actOverwrite, status: overwritten}},
		{"foreign content with overwrite under dry run", objects, destForeign, wrote, yes, yes, leave(report.StatusWouldOverwrite, "")},
	}
	orBoth := func(b []bool) []bool {
		if b == nil {
			return []bool{false, true}
		}
		return b
	}
	covered := map[string]string{}
	for _, tt := range tests {
		for _, obj := range tt.objects {
			for _, w := range tt.wrote {
				for _, ow := range orBoth(tt.overwrite) {
					for _, dry := range orBoth(tt.dryRun) {
						key := fmt.Sprintf("object=%d state=%d wrote=%q overwrite=%t dryRun=%t", obj, tt.state, w, ow, dry)
						if prev, dup := covered[key]; dup {
							t.Errorf("%s: covered by both %q and %q", key, prev, tt.name)
						}
						covered[key] = tt.name
						if got := decide(obj, seen{state: tt.state, wrote: w}, ow, dry); got != tt.want {
							t.Errorf("%s: %s: decide = %+v, want %+v", tt.name, key, got, tt.want)
						}
					}
				}
			}
		}
	}
	if want := 2 * 4 * 3 * 2 * 2; len(covered) != want {
		t.Errorf("the table covers %d combinations, want all %d", len(covered), want)
	}
}
