package metrics

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/fluxcd/flux-mirror/core/report"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// toDTO is f as client_golang would have gathered it.
func toDTO(f family) *dto.MetricFamily {
	mf := &dto.MetricFamily{Name: &f.Name, Help: &f.Help, Type: dto.MetricType_GAUGE.Enum()}
	for _, s := range f.Samples {
		m := &dto.Metric{Gauge: &dto.Gauge{Value: &s.Value}}
		for _, l := range s.Labels {
			m.Label = append(m.Label, &dto.LabelPair{Name: &l.Name, Value: &l.Value})
		}
		mf.Metric = append(mf.Metric, m)
	}
	return mf
}

// expfmtText is fams written by prometheus/common's text encoder.
func expfmtText(t testing.TB, fams []family) string {
	t.Helper()
	var b bytes.Buffer
	for _, f := range fams {
		if _, err := expfmt.MetricFamilyToText(&b, toDTO(f)); err != nil {
			t.Fatal(err)
		}
	}
	return b.String()
}

func TestAppendFloat(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{0, "0"},
		{math.Copysign(0, -1), "0"},
		{1, "1"},
		{-1, "-1"},
		{2.5, "2.5"},
		{4096, "4096"},
		{1e6, "1e+06"},
		{123456, "123456"},
		{1e20, "1e+20"},
		{1e21, "1e+21"},
		{1 << 62, "4.611686018427388e+18"},
		{1.7965512025e+09, "1.7965512025e+09"},
		{0.1, "0.1"},
		{1e-7, "1e-07"},
		{-0.001, "-0.001"},
		{math.MaxFloat64, "1.7976931348623157e+308"},
		{math.SmallestNonzeroFloat64, "5e-324"},
		{math.NaN(), "NaN"},
		{math.Inf(1), "+Inf"},
		{math.Inf(-1), "-Inf"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			if got := string(appendFloat(nil, tc.in)); got != tc.want {
				t.Errorf("appendFloat(%v) = %s, want %s", tc.in, got, tc.want)
			}
			fams := []family{{Name: "x", Help: "h", Samples: []sample{{Value: tc.in}}}}
			got, want := string(appendText(nil, fams)), expfmtText(t, fams)
			if got != want {
				t.Errorf("appendText = %q, prometheus/common writes %q", got, want)
			}
			back := strictParse(t, got)["x"].GetMetric()[0].GetGauge().GetValue()
			if back != tc.in && !(math.IsNaN(back) && math.IsNaN(tc.in)) {
				t.Errorf("parsed back as %v, want %v", back, tc.in)
			}
		})
	}
}

func TestEscaping(t *testing.T) {
	tests := []struct {
		name        string
		help, value string
		wantHelp    string // the HELP text as written
		wantValue   string // the label value as written, between its quotes
	}{
		{"plain", "Plain help.", "v1", "Plain help.", "v1"},
		{"empty", "", "", "", ""},
		{"backslash", `a\b`, `a\b`, `a\\b`, `a\\b`},
		{"double quote", `say "hi"`, `say "hi"`, `say "hi"`, `say \"hi\"`},
		{"newline", "one\ntwo", "one\ntwo", `one\ntwo`, `one\ntwo`},
		{"escape-looking text", `\n`, `\"`, `\\n`, `\\\"`},
		{"tab and carriage return stay", "a\tb\rc", "a\tb\rc", "a\tb\rc", "a\tb\rc"},
		{"braces, comma, equals", "{a=b,c}", "{a=b,c}", "{a=b,c}", "{a=b,c}"},
		{"unicode", "ünï € 😀", "ünï € 😀", "ünï € 😀", "ünï € 😀"},
		{"trailing backslash", `end\`, `end\`, `end\\`, `end\\`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fams := []family{{Name: "flux_mirror_x", Help: tc.help, Samples: []sample{{Labels: []label{{"l", tc.value}}, Value: 1}}}}
			got := string(appendText(nil, fams))
			want := "# HELP flux_mirror_x " + tc.wantHelp + "\n# TYPE flux_mirror_x gauge\nflux_mirror_x{l=\"" + tc.wantValue + "\"} 1\n"
			if got != want {
				t.Errorf("got\n%s\nwant\n%s", got, want)
			}
			if lib := expfmtText(t, fams); got != lib {
				t.Errorf("prometheus/common writes\n%s", lib)
			}
			mf := strictParse(t, got)["flux_mirror_x"]
			if mf.GetHelp() != tc.help {
				t.Errorf("HELP parsed back as %q, want %q", mf.GetHelp(), tc.help)
			}
			if v := mf.GetMetric()[0].GetLabel()[0].GetValue(); v != tc.value {
				t.Errorf("label value parsed back as %q, want %q", v, tc.value)
			}
		})
	}
}

func TestAppendTextOfNothing(t *testing.T) {
	if got := appendText(nil, nil); len(got) != 0 {
		t.Errorf("got %q, want nothing", got)
	}
}

// FuzzAppendText checks that this package's writer and prometheus/common's
// agree byte for byte on any HELP text, label value and sample value, and
// that the strict parser reads back what was written.
func FuzzAppendText(f *testing.F) {
	f.Add("Bytes written.", "dst.example", 4096.0)
	f.Add("a\\b\n\"c\"", "x\\\"y\nz", math.Inf(-1))
	f.Add("", "", math.Copysign(0, -1))
	f.Add("ünï", "😀/€", 1e-300)
	f.Fuzz(func(t *testing.T, help, value string, v float64) {
		run := newRun(report.StatusCopied)
		run.Labels = map[string]string{"note": value}
		run.BytesCopied = int64(v) // any int64 a run may carry
		fams, err := families(run, time.Time{})
		if !utf8.ValidString(value) {
			if err == nil {
				t.Fatalf("a label value that is not UTF-8 was accepted: %q", value)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		fams = append(fams, family{Name: "flux_mirror_z", Help: help, Samples: []sample{{Labels: []label{{"l", value}}, Value: v}}})
		got := string(appendText(nil, fams))
		if want := expfmtText(t, fams); got != want {
			t.Fatalf("got\n%s\nprometheus/common writes\n%s", got, want)
		}
		if !utf8.ValidString(help) {
			return // the parser reads UTF-8 only
		}
		mf := strictParse(t, got)["flux_mirror_z"]
		// The parser skips the blanks that start a HELP text.
		if mf.GetHelp() != strings.TrimLeft(help, " \t") || mf.GetMetric()[0].GetLabel()[0].GetValue() != value {
			t.Fatalf("read back help %q, value %q", mf.GetHelp(), mf.GetMetric()[0].GetLabel()[0].GetValue())
		}
		if back := mf.GetMetric()[0].GetGauge().GetValue(); back != v && !(math.IsNaN(v) && math.IsNaN(back)) {
			t.Fatalf("read back %v, want %v", back, v)
		}
	})
}
