package metrics

import (
	"math"
	"strconv"
	"strings"
)

// contentType is the media type of the text exposition format 0.0.4.
const contentType = "text/plain; version=0.0.4; charset=utf-8"

var (
	// labelValueEscaper escapes a label value inside its double quotes.
	labelValueEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)
	// helpEscaper escapes a HELP text, which is not quoted.
	helpEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
)

// appendText appends fams to b in the Prometheus text exposition format
// 0.0.4, as client_golang writes gauges: a HELP and a TYPE line per family,
// then one line per sample. Names are not checked here: metric names are
// this package's constants and label names were checked by families.
func appendText(b []byte, fams []family) []byte {
	for _, f := range fams {
		b = append(b, "# HELP "...)
		b = append(b, f.Name...)
		b = append(b, ' ')
		b = append(b, helpEscaper.Replace(f.Help)...)
		b = append(b, "\n# TYPE "...)
		b = append(b, f.Name...)
		b = append(b, " gauge\n"...)
		for _, s := range f.Samples {
			b = append(b, f.Name...)
			b = appendLabels(b, s.Labels)
			b = append(b, ' ')
			b = appendFloat(b, s.Value)
			b = append(b, '\n')
		}
	}
	return b
}

// appendLabels appends {name="value",...}, or nothing for no labels.
func appendLabels(b []byte, ls []label) []byte {
	for i, l := range ls {
		if i == 0 {
			b = append(b, '{')
		} else {
			b = append(b, ',')
		}
		b = append(b, l.Name...)
		b = append(b, `="`...)
		b = append(b, labelValueEscaper.Replace(l.Value)...)
		b = append(b, '"')
	}
	if len(ls) > 0 {
		b = append(b, '}')
	}
	return b
}

// appendFloat formats a sample value as Prometheus does: the shortest 'g'
// representation, "+Inf", "-Inf" and "NaN" for the special values, and
// "0" for negative zero.
func appendFloat(b []byte, f float64) []byte {
	switch {
	case f == 0:
		return append(b, '0')
	case math.IsNaN(f):
		return append(b, "NaN"...)
	case math.IsInf(f, +1):
		return append(b, "+Inf"...)
	case math.IsInf(f, -1):
		return append(b, "-Inf"...)
	}
	return strconv.AppendFloat(b, f, 'g', -1, 64)
}
