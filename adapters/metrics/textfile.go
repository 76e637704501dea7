package metrics

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// WriteTextfile writes the run's metrics to path in the node exporter's
// textfile format, atomically (a temporary file in the same directory,
// renamed over path), so a collector never reads half a file. When the run
// failed, the last-success timestamp of the file it replaces is kept.
func WriteTextfile(path string, run Run) error {
	if run.Report == nil {
		return errNoReport
	}
	var last time.Time
	if !run.Succeeded() {
		var err error
		if last, err = readLastSuccess(path); err != nil {
			return err
		}
	}
	fams, err := families(run, last)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(path, appendText(nil, fams)); err != nil {
		return fmt.Errorf("write metrics file %s: %w", path, err)
	}
	return nil
}

// writeFileAtomic writes data to a new file in path's directory, makes it
// readable by everyone (mode 0644, as a textfile collector may run as
// another user) and renames it over path. The temporary file is removed on
// any error.
func writeFileAtomic(path string, data []byte) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path))
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return err
	}
	if err = tmp.Chmod(0o644); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// readLastSuccess returns the last-success timestamp in an earlier metrics
// file at path, or the zero time when there is none.
func readLastSuccess(path string) (time.Time, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("read the previous metrics file %s: %w", path, err)
	}
	defer f.Close()
	return lastSuccessIn(f), nil
}

// maxLine bounds the lines lastSuccessIn reads; the files this package
// writes have lines of a few hundred bytes.
const maxLine = 1 << 20

// lastSuccessIn returns the value of the first
// flux_mirror_last_success_timestamp_seconds sample in r, a metrics file in
// the text format, as a time rounded to the millisecond (the precision the
// value was written with). It is the zero time when there is no such sample,
// its value is not a positive finite number, or r cannot be read: a file we
// cannot read is replaced, and its history is lost, which a stale alert
// shows rather than hides.
//
// Only that sample's line has to be well-formed; the rest of the file is
// not checked.
func lastSuccessIn(r io.Reader) time.Time {
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, maxLine)
	for sc.Scan() {
		v, ok := sampleValue(sc.Text(), lastSuccessName)
		if !ok {
			continue
		}
		if v <= 0 || math.IsNaN(v) || math.IsInf(v, 0) || v >= math.MaxInt64/1000 {
			return time.Time{}
		}
		return time.UnixMilli(int64(math.Round(v * 1000))).UTC()
	}
	return time.Time{}
}

// sampleValue parses line as a sample of the metric name in the text
// format, `name[{label="value",...}] value [timestamp]`, and returns its
// value. ok is false for any other line: a comment, a blank line, another
// metric, or a malformed sample.
func sampleValue(line, name string) (v float64, ok bool) {
	afterName, found := strings.CutPrefix(strings.TrimLeft(line, " \t"), name)
	if !found {
		return 0, false
	}
	rest := strings.TrimLeft(afterName, " \t")
	switch {
	case strings.HasPrefix(rest, "{"):
		end := labelsEnd(rest)
		if end < 0 {
			return 0, false
		}
		rest = rest[end:]
	case rest == afterName:
		return 0, false // the name goes on: another metric
	}
	fields := strings.FieldsFunc(rest, func(r rune) bool { return r == ' ' || r == '\t' })
	if len(fields) == 0 || len(fields) > 2 {
		return 0, false
	}
	if len(fields) == 2 {
		if _, err := strconv.ParseInt(fields[1], 10, 64); err != nil {
			return 0, false
		}
	}
	// The text format's floats: Go syntax without hexadecimal exponents
	// or digit separators.
	if strings.ContainsAny(fields[0], "pP_") {
		return 0, false
	}
	v, err := strconv.ParseFloat(fields[0], 64)
	if err != nil {
		return 0, false
	}
	return v, true
}

// labelsEnd returns the index just past the '}' that closes the label set
// s starts with, skipping quoted values and their backslash escapes, or -1
// when the set is not closed.
func labelsEnd(s string) int {
	quoted := false
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case !quoted && c == '}':
			return i + 1
		}
	}
	return -1
}
