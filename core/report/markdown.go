package report

import (
	"fmt"
	"io"
	"strings"
)

// WriteMarkdown writes r as a Markdown summary for a CI job page (such as
// GitHub Actions' $GITHUB_STEP_SUMMARY): a heading with the counts, a table
// of the entries, then every drifted and failed tag with its error. An
// up-to-date run stays a few lines; what needs a person comes last, in
// full.
func WriteMarkdown(w io.Writer, r *Report) error {
	b := &strings.Builder{}
	s := r.Report.Summary
	mark := "✅"
	switch s.ExitCode {
	case ExitFailed:
		mark = "❌"
	case ExitDrift:
		mark = "⚠️"
	}
	fmt.Fprintf(b, "### %s flux-mirror: %s in %s\n\n", mark, FormatCounts(s), FormatDuration(r.Duration()))
	if len(r.Report.Results) > 0 {
		b.WriteString("| entry | destination | selected | copied | skipped | drifted | failed |\n")
		b.WriteString("|---|---|---:|---:|---:|---:|---:|\n")
		for _, res := range r.Report.Results {
			c := Summarize([]Result{res})
			selected := "—"
			if res.Selection != nil {
				selected = fmt.Sprintf("%d of %d", res.Selection.Selected, res.Selection.Considered())
			}
			fmt.Fprintf(b, "| %s | %s | %s | %d | %d | %d | %d |\n", mdCode(res.Source), mdCode(res.Destination),
				selected, c.Copied+c.Overwritten+c.WouldCopy+c.WouldOverwrite, c.Skipped, c.Drifted, c.Failed)
		}
	}
	var drifted, failed []string
	for _, res := range r.Report.Results {
		if res.Status == EntryFailed {
			failed = append(failed, fmt.Sprintf("- %s: plan failed: %s", mdCode(res.Source), mdText(res.Error)))
			continue
		}
		if res.Selection != nil && res.Selection.Selected == 0 {
			unit := "tag"
			if strings.Contains(res.Source, "://") {
				unit = "version"
			}
			drifted = append(drifted, fmt.Sprintf("- %s: the selector matched 0 of %s", mdCode(res.Source), count(res.Selection.Considered(), unit)))
		}
		for _, t := range res.Tags {
			ref := mdCode(res.Source + ":" + t.Tag)
			switch t.Status {
			case StatusDrifted:
				drifted = append(drifted, fmt.Sprintf("- %s differs at %s (left alone; set overwrite to replace it)", ref, mdCode(destinationRef(res, t.Tag))))
			case StatusFailed:
				failed = append(failed, fmt.Sprintf("- %s: %s", ref, mdText(t.Error)))
			}
		}
	}
	for _, sec := range []struct {
		title string
		lines []string
	}{{"Failed", failed}, {"Needs a look", drifted}} {
		if len(sec.lines) == 0 {
			continue
		}
		fmt.Fprintf(b, "\n#### %s\n\n%s\n", sec.title, strings.Join(sec.lines, "\n"))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// destinationRef is the destination of a tag as written there.
func destinationRef(res Result, tag string) string {
	return res.Destination + ":" + destinationTag(res, tag)
}

// mdCode renders s as inline code, whatever backticks it holds.
func mdCode(s string) string {
	s = oneLine(s)
	fence := "`"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		s = " " + s + " "
	}
	return strings.ReplaceAll(fence+s+fence, "|", "\\|")
}

// mdText renders an error message as one line of Markdown text that cannot
// break out of its list item or table cell, nor open HTML.
func mdText(s string) string {
	r := strings.NewReplacer("\\", "\\\\", "|", "\\|", "<", "&lt;", ">", "&gt;", "*", "\\*", "_", "\\_", "`", "\\`", "[", "\\[", "]", "\\]", "#", "\\#")
	return r.Replace(oneLine(s))
}
