package mirror

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/fluxcd/flux-mirror/core"
	"github.com/fluxcd/flux-mirror/core/oci"
)

// pattern is a deterministic reader of n bytes that allocates nothing.
type pattern struct{ n, off int64 }

func (p *pattern) Read(b []byte) (int, error) {
	if p.off >= p.n {
		return 0, io.EOF
	}
	k := int64(len(b))
	if rem := p.n - p.off; k > rem {
		k = rem
	}
	for i := range k {
		b[i] = byte((p.off + i) * 31)
	}
	p.off += k
	return int(k), nil
}

func patternDigest(n int64) string {
	h := sha256.New()
	if _, err := io.Copy(h, &pattern{n: n}); err != nil {
		panic(err)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

func TestVerifyingReaderStreamsInConstantMemory(t *testing.T) {
	const size = 64 << 20
	desc := oci.Descriptor{Digest: patternDigest(size), Size: size}
	var reported int64
	vr, err := newVerifyingReader(&pattern{n: size}, desc, func(n int64) { reported += n })
	if err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	buf := make([]byte, 32<<10)
	n, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{vr}, buf)
	runtime.ReadMemStats(&after)
	if err != nil || n != size || !vr.ok {
		t.Fatalf("copied %d, err %v, ok %v", n, err, vr.ok)
	}
	if reported != size {
		t.Errorf("reported %d bytes", reported)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
		t.Errorf("streaming %d MiB allocated %d bytes", size>>20, grew)
	}
}

func TestVerifyingReaderMismatches(t *testing.T) {
	t.Parallel()
	good := []byte("hello, registry")
	d := oci.Digest(good)
	tests := []struct {
		name    string
		content []byte
		size    int64
		digest  string
	}{
		{"other bytes", []byte("hello, registrx"), int64(len(good)), d},
		{"too long", append([]byte("hello, registry"), '!'), int64(len(good)), d},
		{"too short", good[:5], int64(len(good)), d},
	}
	for _, tt := range tests {
		vr, err := newVerifyingReader(bytesReader(tt.content), oci.Descriptor{Digest: tt.digest, Size: tt.size}, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = io.ReadAll(vr)
		if !errors.Is(err, core.ErrDigestMismatch) {
			t.Errorf("%s: err %v, want ErrDigestMismatch", tt.name, err)
		}
		// The error is sticky: a consumer that reads again never sees EOF.
		if _, err2 := vr.Read(make([]byte, 1)); !errors.Is(err2, core.ErrDigestMismatch) {
			t.Errorf("%s: second read %v", tt.name, err2)
		}
	}
	vr, _ := newVerifyingReader(bytesReader(good), oci.Descriptor{Digest: d, Size: int64(len(good))}, nil)
	got, err := io.ReadAll(vr)
	if err != nil || string(got) != string(good) {
		t.Errorf("good content: %q, %v", got, err)
	}
	// A consumer that stops at exactly Size bytes: finish verifies.
	vr, _ = newVerifyingReader(bytesReader(good), oci.Descriptor{Digest: d, Size: int64(len(good))}, nil)
	if _, err := io.ReadFull(vr, make([]byte, len(good))); err != nil {
		t.Fatal(err)
	}
	if err := vr.finish(); err != nil {
		t.Errorf("finish: %v", err)
	}
	if _, err := newVerifyingReader(bytesReader(good), oci.Descriptor{Digest: "md5:abc"}, nil); !errors.Is(err, core.ErrUnsupported) {
		t.Errorf("md5 digest: %v", err)
	}
}

func bytesReader(b []byte) io.Reader {
	return &sliceReader{b: b}
}

type sliceReader struct{ b []byte }

func (r *sliceReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.b[:min(len(r.b), 4)]) // small reads, like a network
	r.b = r.b[n:]
	return n, nil
}

// TestOnceSet runs in a synctest bubble: synctest.Wait returns once every
// goroutine started is blocked (the waiters on the leader), which orders
// the steps without sleeping, and the waiter's timeout runs on the
// bubble's clock.
func TestOnceSet(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		s := newOnceSet()
		var calls atomic.Int32
		release := make(chan struct{})
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				err := s.do(context.Background(), "k", func() error {
					calls.Add(1)
					<-release
					return nil
				})
				if err != nil {
					t.Error(err)
				}
			})
		}
		synctest.Wait() // one leader in ensure, seven waiting for it
		close(release)
		wg.Wait()
		if calls.Load() != 1 || !s.known("k") {
			t.Errorf("ensure called %d times", calls.Load())
		}
		// Known present: not called at all.
		if err := s.do(context.Background(), "k", func() error { t.Error("called for a known key"); return nil }); err != nil {
			t.Error(err)
		}

		// A failing leader: a waiter tries itself.
		fail := make(chan struct{})
		var second atomic.Int32
		errc := make(chan error, 1)
		go func() {
			errc <- s.do(context.Background(), "f", func() error { <-fail; return errors.New("boom") })
		}()
		synctest.Wait() // the leader is in ensure
		done := make(chan error, 1)
		go func() {
			done <- s.do(context.Background(), "f", func() error { second.Add(1); return nil })
		}()
		synctest.Wait() // the waiter waits for the leader
		close(fail)
		if err := <-errc; err == nil {
			t.Error("leader error lost")
		}
		if err := <-done; err != nil || second.Load() != 1 {
			t.Errorf("waiter: %v, ensured %d times", err, second.Load())
		}

		// A waiter whose context ends stops waiting.
		block := make(chan struct{})
		go func() { _ = s.do(context.Background(), "w", func() error { <-block; return nil }) }()
		synctest.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		defer cancel()
		if err := s.do(ctx, "w", func() error { return nil }); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("waiter with expired context: %v", err)
		}
		close(block)
	})
}

func TestSchedulerPerHostLimitSkipsBusyHosts(t *testing.T) {
	t.Parallel()
	s := newScheduler(1)
	var mu sync.Mutex
	var order []string
	inA := make(chan struct{})
	releaseA := make(chan struct{})
	s.add(&task{lane: laneJob, hosts: []string{"a"}, run: func(context.Context) {
		close(inA)
		<-releaseA
		mu.Lock()
		order = append(order, "a1")
		mu.Unlock()
	}})
	s.add(&task{lane: laneJob, hosts: []string{"a", "x"}, run: func(context.Context) {
		mu.Lock()
		order = append(order, "a2")
		mu.Unlock()
	}})
	s.add(&task{lane: laneJob, hosts: []string{"b"}, run: func(context.Context) {
		<-inA
		mu.Lock()
		order = append(order, "b")
		mu.Unlock()
		close(releaseA) // a1 finishes only after b ran beside it
	}})
	s.run(context.Background(), 1, 3)
	if len(order) != 3 || order[0] != "b" || order[1] != "a1" || order[2] != "a2" {
		t.Errorf("order %v: b must pass the queued a2 while host a is busy", order)
	}
	for h, n := range s.busy {
		if n != 0 {
			t.Errorf("host %s still has %d slots taken", h, n)
		}
	}
}

func TestSchedulerCancelDrainsQueue(t *testing.T) {
	t.Parallel()
	s := newScheduler(4)
	ctx, cancel := context.WithCancel(context.Background())
	var ran, cancelled atomic.Int32
	s.add(&task{lane: laneJob, hosts: []string{"h"}, run: func(ctx context.Context) {
		ran.Add(1)
		cancel()
		// A running task may still queue work; it is cancelled, not run.
		s.add(&task{lane: laneJob, run: func(context.Context) { ran.Add(1) }, cancel: func() { cancelled.Add(1) }})
	}})
	for range 5 {
		s.add(&task{lane: laneJob, hosts: []string{"h"}, run: func(context.Context) { ran.Add(1) }, cancel: func() { cancelled.Add(1) }})
	}
	s.run(ctx, 1, 1)
	if ran.Load() != 1 || cancelled.Load() != 6 {
		t.Errorf("ran %d, cancelled %d", ran.Load(), cancelled.Load())
	}
}

func TestFallbackTag(t *testing.T) {
	t.Parallel()
	d := "sha256:" + hex.EncodeToString(make([]byte, 32))
	if got := FallbackTag(d); got != "sha256-"+hex.EncodeToString(make([]byte, 32)) {
		t.Errorf("FallbackTag = %s", got)
	}
	long := "sha512:" + hex.EncodeToString(make([]byte, 64))
	if got := FallbackTag(long); len(got) != 128 {
		t.Errorf("sha512 fallback tag has %d characters", len(got))
	}
}

func TestParallelFinishesSiblingsOfAFailure(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	started := make(chan struct{}, 3)
	var finished atomic.Int32
	err := parallel(context.Background(), 3, []int{0, 1, 2}, func(ctx context.Context, i int) error {
		started <- struct{}{}
		if i == 0 {
			// Fail only once every sibling is under way.
			for range 3 {
				<-started
			}
			return boom
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
			finished.Add(1)
			return nil
		}
	})
	if !errors.Is(err, boom) {
		t.Errorf("err = %v, want boom", err)
	}
	if got := finished.Load(); got != 2 {
		t.Errorf("%d siblings finished, want 2: a failure must not cancel uploads under way", got)
	}

	// The caller's context still stops everything.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = parallel(ctx, 2, []int{0, 1, 2}, func(ctx context.Context, _ int) error { return ctx.Err() })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled caller: err = %v", err)
	}
}
