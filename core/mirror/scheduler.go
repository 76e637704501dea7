package mirror

import (
	"context"
	"slices"
	"sync"
)

// lane separates the two kinds of tasks of the pool: planning (tag lists,
// tag resolution, destination checks: small requests, bounded per host by
// the hosts' request limits) and jobs (copying a tag or chart version,
// Options.Concurrency at a time).
type lane int

const (
	lanePlan lane = iota
	laneJob
	lanes
)

// planWorkers is how many planning tasks run at once, and jobWorkers how
// many copy jobs (at least Options.Concurrency). A planning task is one or
// two small requests, and most of a copy job's requests are small too: the
// hosts' request limits decide how many really go on the wire, and the
// large blob streams have their own run-wide limit (Options.Concurrency).
const (
	planWorkers = 64
	jobWorkers  = 64
)

// task is one unit of work on the shared pool: planning an entry, resolving
// a tag, or mirroring a tag or chart version.
type task struct {
	// lane is the task's kind (planning by default).
	lane lane
	// hosts are the distinct registry or repository hosts the task talks to;
	// a job runs only while each of them has a free job slot (see
	// Options.PerHostConcurrency).
	hosts []string
	// run does the work. It may add further tasks to the scheduler.
	run func(ctx context.Context)
	// cancel is called instead of run when the sync is cancelled before the
	// task started.
	cancel func()
}

// scheduler runs tasks on up to a fixed number of workers per lane, first
// in, first out, skipping over a job whose hosts are all busy in favour of
// the next one that can run, so one slow registry does not stall the
// others. Workers start as tasks arrive, not before: a sync of one tag
// starts two goroutines, not a hundred.
type scheduler struct {
	perHost int // job slots per host; 0: no limit

	mu      sync.Mutex
	cond    *sync.Cond
	queue   [lanes][]*task
	busy    map[string]int
	running int
	stopped bool

	// Set by run: the lanes' worker caps, the workers started and those
	// waiting for a task.
	ctx     context.Context
	max     [lanes]int
	workers [lanes]int
	waiting [lanes]int
	wg      sync.WaitGroup
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
	s.queue[t.lane] = append(s.queue[t.lane], t)
	s.spawnLocked(t.lane)
	s.mu.Unlock()
	s.cond.Broadcast()
}

// spawnLocked starts a worker for lane l when run has started, the lane
// has more queued tasks than waiting workers, and room for one more.
func (s *scheduler) spawnLocked(l lane) {
	if s.ctx == nil || s.stopped || s.workers[l] >= s.max[l] || len(s.queue[l]) <= s.waiting[l] {
		return
	}
	s.workers[l]++
	s.wg.Go(func() {
		for {
			t := s.next(s.ctx, l)
			if t == nil {
				return
			}
			t.run(s.ctx)
			s.done(t)
		}
	})
}

// run works through the queues with up to planners and jobs workers until
// they are empty and nothing runs, or ctx is done. Tasks still queued when
// ctx is done (and those that running tasks add afterwards) get their
// cancel call.
func (s *scheduler) run(ctx context.Context, planners, jobs int) {
	stop := context.AfterFunc(ctx, func() {
		s.mu.Lock()
		s.stopped = true
		s.mu.Unlock()
		s.cond.Broadcast()
	})
	defer stop()
	s.mu.Lock()
	s.ctx, s.max = ctx, [lanes]int{lanePlan: planners, laneJob: jobs}
	for l := range s.queue {
		for range len(s.queue[l]) {
			s.spawnLocked(lane(l))
		}
	}
	s.mu.Unlock()
	s.wg.Wait()
	s.mu.Lock()
	var left []*task
	for l := range s.queue {
		left = append(left, s.queue[l]...)
		s.queue[l] = nil
	}
	s.mu.Unlock()
	for _, t := range left {
		if t.cancel != nil {
			t.cancel()
		}
	}
}

// next blocks until a task of lane l can run and claims its hosts; it
// returns nil when the work is over (nothing queued in any lane, nothing
// running) or the sync stopped.
func (s *scheduler) next(ctx context.Context, l lane) *task {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		if s.stopped || ctx.Err() != nil || s.idle() {
			return nil
		}
		for i, t := range s.queue[l] {
			if s.free(t) {
				s.queue[l] = slices.Delete(s.queue[l], i, i+1)
				if t.lane == laneJob {
					for _, h := range t.hosts {
						s.busy[h]++
					}
				}
				s.running++
				return t
			}
		}
		s.waiting[l]++
		s.cond.Wait()
		s.waiting[l]--
	}
}

func (s *scheduler) idle() bool {
	if s.running > 0 {
		return false
	}
	for _, q := range s.queue {
		if len(q) > 0 {
			return false
		}
	}
	return true
}

func (s *scheduler) free(t *task) bool {
	if t.lane != laneJob || s.perHost <= 0 {
		return true
	}
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
	if t.lane == laneJob {
		for _, h := range t.hosts {
			s.busy[h]--
		}
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
