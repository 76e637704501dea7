package mirror

import (
	"context"
	"slices"
	"sync"
)

// task is one unit of work on the shared pool: planning an entry, resolving
// a tag, or mirroring a tag or chart version.
type task struct {
	// hosts are the distinct registry or repository hosts the task talks to;
	// it runs only while each of them has a free slot.
	hosts []string
	// run does the work. It may add further tasks to the scheduler.
	run func(ctx context.Context)
	// cancel is called instead of run when the sync is cancelled before the
	// task started.
	cancel func()
}

// scheduler runs tasks on a fixed number of workers, first in, first out,
// skipping over a task whose hosts are all busy in favour of the next one
// that can run, so one slow registry does not stall the others.
type scheduler struct {
	perHost int

	mu      sync.Mutex
	cond    *sync.Cond
	queue   []*task
	busy    map[string]int
	running int
	stopped bool
}

func newScheduler(perHost int) *scheduler {
	s := &scheduler{perHost: perHost, busy: map[string]int{}}
	s.cond = sync.NewCond(&s.mu)
	return s
}

// add queues t. It is safe to call from a running task.
func (s *scheduler) add(t *task) {
	t.hosts = distinct(t.hosts)
	s.mu.Lock()
	s.queue = append(s.queue, t)
	s.mu.Unlock()
	s.cond.Broadcast()
}

// run works through the queue with workers goroutines until it is empty and
// nothing runs, or ctx is done. Tasks still queued when ctx is done (and
// those that running tasks add afterwards) get their cancel call.
func (s *scheduler) run(ctx context.Context, workers int) {
	stop := context.AfterFunc(ctx, func() {
		s.mu.Lock()
		s.stopped = true
		s.mu.Unlock()
		s.cond.Broadcast()
	})
	defer stop()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				t := s.next(ctx)
				if t == nil {
					return
				}
				t.run(ctx)
				s.done(t)
			}
		})
	}
	wg.Wait()
	s.mu.Lock()
	left := s.queue
	s.queue = nil
	s.mu.Unlock()
	for _, t := range left {
		if t.cancel != nil {
			t.cancel()
		}
	}
}

// next blocks until a task can run and claims its hosts; it returns nil when
// the work is over (nothing queued, nothing running) or the sync stopped.
func (s *scheduler) next(ctx context.Context) *task {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		if s.stopped || ctx.Err() != nil || len(s.queue) == 0 && s.running == 0 {
			return nil
		}
		for i, t := range s.queue {
			if s.free(t) {
				s.queue = slices.Delete(s.queue, i, i+1)
				for _, h := range t.hosts {
					s.busy[h]++
				}
				s.running++
				return t
			}
		}
		s.cond.Wait()
	}
}

func (s *scheduler) free(t *task) bool {
	for _, h := range t.hosts {
		if s.busy[h] >= s.perHost {
			return false
		}
	}
	return true
}

// done releases t's hosts.
func (s *scheduler) done(t *task) {
	s.mu.Lock()
	for _, h := range t.hosts {
		s.busy[h]--
	}
	s.running--
	s.mu.Unlock()
	s.cond.Broadcast()
}

func distinct(hosts []string) []string {
	out := make([]string, 0, len(hosts))
	for _, h := range hosts {
		if h != "" && !slices.Contains(out, h) {
			out = append(out, h)
		}
	}
	return out
}
