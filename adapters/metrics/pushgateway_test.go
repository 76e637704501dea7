package metrics

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fluxcd/flux-mirror/core/report"
)

// pushgatewayVersion is the Pushgateway the test builds from the module
// proxy; it builds with this repository's Go toolchain.
const pushgatewayVersion = "v1.11.5"

// pushgatewayBinary builds the Pushgateway once per machine (in the user's
// cache directory, under a lock so parallel test processes share it) and
// returns its path.
func pushgatewayBinary(t *testing.T) string {
	t.Helper()
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "flux-mirror-test", "pushgateway-"+pushgatewayVersion)
	bin := filepath.Join(dir, "pushgateway")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	cmd := exec.Command("go", "install", "github.com/prometheus/pushgateway@"+pushgatewayVersion)
	cmd.Env = append(os.Environ(), "GOBIN="+dir, "GOWORK=off", "CGO_ENABLED=0")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build the Pushgateway: %v\n%s", err, out)
	}
	return bin
}

// startPushgateway runs a real Pushgateway on a free loopback port until
// the test ends and returns its URL once it answers.
func startPushgateway(t *testing.T) string {
	t.Helper()
	bin := pushgatewayBinary(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "--web.listen-address="+addr, "--log.level=info")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	// The Pushgateway logs "Listening on" once its socket is bound.
	ready := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "Listening on") {
				ready <- nil
				_, _ = io.Copy(io.Discard, stderr)
				return
			}
		}
		ready <- fmt.Errorf("the Pushgateway exited before listening: %v", sc.Err())
	}()
	select {
	case err := <-ready:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the Pushgateway did not start listening within 30s")
	}
	return "http://" + addr
}

func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	// Keep only what was pushed: the Pushgateway's own metrics differ by version.
	var ours []string
	keep := false
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, "# HELP ") || strings.HasPrefix(line, "# TYPE ") {
			keep = strings.HasPrefix(strings.Fields(line)[2], Namespace+"_")
		}
		if keep {
			ours = append(ours, line)
		}
	}
	return parse(t, strings.Join(ours, "\n")+"\n")
}

func TestPushToARealPushgateway(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping: builds and starts a Pushgateway (-short)")
	}
	url := startPushgateway(t)
	ctx := context.Background()
	grouping := map[string]string{"shard": "0"}
	finished := float64(start.Add(2500*time.Millisecond).UnixMilli()) / 1000

	ok := newRun(report.StatusCopied, report.StatusSkipped)
	ok.Labels = map[string]string{"config": "mirror"}
	if err := Push(ctx, url, DefaultJob, grouping, ok, nil); err != nil {
		t.Fatal(err)
	}
	got := scrape(t, url)
	for k, v := range map[string]float64{
		"flux_mirror_tags{config=mirror,outcome=copied,shard=0}":            1,
		"flux_mirror_last_success_timestamp_seconds{config=mirror,shard=0}": finished,
		"flux_mirror_requests{config=mirror,host=dst.example,shard=0}":      12,
	} {
		if got[k] != v {
			t.Errorf("after a successful push: %s = %v, want %v", k, got[k], v)
		}
	}

	failed := newRun(report.StatusFailed)
	failed.Labels = ok.Labels
	failed.Report.Report.Timestamp = start.Add(time.Hour)
	if err := Push(ctx, url, DefaultJob, grouping, failed, nil); err != nil {
		t.Fatal(err)
	}
	got = scrape(t, url)
	for k, v := range map[string]float64{
		"flux_mirror_tags{config=mirror,outcome=failed,shard=0}":            1,
		"flux_mirror_tags{config=mirror,outcome=copied,shard=0}":            0,
		"flux_mirror_exit_code{config=mirror,shard=0}":                      1,
		"flux_mirror_last_success_timestamp_seconds{config=mirror,shard=0}": finished,
	} {
		if got[k] != v {
			t.Errorf("after a failed push: %s = %v, want %v", k, got[k], v)
		}
	}

	// Grouping values with '/' and empty ones travel base64-encoded.
	for _, shard := range []string{"1/2", ""} {
		if err := Push(ctx, url, DefaultJob, map[string]string{"shard": shard}, ok, nil); err != nil {
			t.Fatalf("shard %q: %v", shard, err)
		}
		k := "flux_mirror_tags{config=mirror,outcome=copied,shard=" + shard + "}"
		if got := scrape(t, url); got[k] != 1 {
			t.Errorf("shard %q: %s = %v, want 1", shard, k, got[k])
		}
	}

	// Label values that need escaping reach the Pushgateway intact.
	esc := newRun(report.StatusCopied)
	esc.Labels = map[string]string{"config": "a\"b\\c\nd €"}
	if err := Push(ctx, url, DefaultJob, map[string]string{"shard": "esc"}, esc, nil); err != nil {
		t.Fatal(err)
	}
	k := "flux_mirror_tags{config=a\"b\\c\nd €,outcome=copied,shard=esc}"
	if got := scrape(t, url); got[k] != 1 {
		t.Errorf("%q = %v, want 1", k, got[k])
	}
}

func TestPushRefusesBadURLs(t *testing.T) {
	for _, u := range []string{
		"", "pushgateway:9091", "ftp://h/", "http://user:secret@h:9091",
		// url.Parse refuses these, with the password in its error.
		"http://user:secret@h:port/", "ftp://user:secret@h%zz/", "http://us@er:secret@h:bad?x=@y",
	} {
		err := Push(context.Background(), u, DefaultJob, nil, newRun(report.StatusCopied), nil)
		if err == nil {
			t.Errorf("Push(%q): want an error", u)
		} else if strings.Contains(err.Error(), "secret") {
			t.Errorf("Push(%q): the error shows the password: %v", u, err)
		}
	}
}
