package metrics

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// WriteTextfile writes the run's metrics to path in the node exporter's
// textfile format, atomically (a temporary file in the same directory,
// renamed over path), so a collector never reads half a file. When the run
// failed, the last-success timestamp of the file it replaces is kept.
func WriteTextfile(path string, run Run) error {
	var last time.Time
	if !run.Succeeded() {
		var err error
		if last, err = readLastSuccess(path); err != nil {
			return err
		}
	}
	reg, err := Registry(run, last)
	if err != nil {
		return err
	}
	if err := prometheus.WriteToTextfile(path, reg); err != nil {
		return fmt.Errorf("write metrics file %s: %w", path, err)
	}
	return nil
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
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(f)
	if err != nil {
		// A file we cannot parse is replaced; its history is lost, which a
		// stale alert shows rather than hides.
		return time.Time{}, nil
	}
	return lastSuccessOf(families[lastSuccessName]), nil
}

func lastSuccessOf(mf *dto.MetricFamily) time.Time {
	if mf == nil || len(mf.GetMetric()) == 0 {
		return time.Time{}
	}
	v := mf.GetMetric()[0].GetGauge().GetValue()
	if v <= 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return time.Time{}
	}
	sec, frac := math.Modf(v)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC()
}
