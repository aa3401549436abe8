package emulator

import (
	"container/heap"
	"sort"
	"time"
)

// The scheduler does the work Stripe does on its own as time passes: funds
// becoming available, disputes opening after a charge and being decided,
// payouts being made on schedule, going in transit and arriving. The work
// is kept as jobs, each due at an emulator time, and done in time order,
// each job at its own due time, so that jumping the clock three days gives
// the same objects, events and timestamps as living through them. It runs
// when the clock is advanced, at the start of every request, and once a
// second on its own, so a real-time clock needs no help.

// jobKind says what a job does. When several jobs fall due at the same
// second they run in this order, so funds that become available at the
// start of a day are in that day's payout.
type jobKind uint8

const (
	jobFundsAvailable jobKind = iota // an account's funds become available: balance.available
	jobDisputeOpen                   // a dispute test card's charge is disputed
	jobDisputeDecide                 // submitted evidence is decided
	jobDisputeExpire                 // the evidence due date passed without a response
	jobPayoutRun                     // automatic payouts at the start of a UTC day
	jobPayoutSubmit                  // a pending payout goes in transit
	jobPayoutArrive                  // a payout in transit is paid, or fails
)

// job is one piece of due work on the object (or, for funds, the account)
// ID. Ties of time and kind are broken by ID, so the order never depends on
// when a job was queued, and a schedule rebuilt from a snapshot runs the
// same way.
type job struct {
	At   int64
	Kind jobKind
	ID   string
}

func (a job) before(b job) bool {
	if a.At != b.At {
		return a.At < b.At
	}
	if a.Kind != b.Kind {
		return a.Kind < b.Kind
	}
	return a.ID < b.ID
}

// schedule is the queue of jobs, a min-heap in job order. It lives in the
// state, guarded by Server.mu, and is derived from the objects, so a
// snapshot stores only Through and rebuilds the rest.
type schedule struct {
	jobs   []job
	queued map[job]bool
	// Through is the emulator time (unix seconds) up to which every due job
	// has run.
	Through int64
}

// maxJobsPerRun bounds the work one request does before it is served; the
// rest runs at the next request or tick. Advance runs everything.
const maxJobsPerRun = 10_000

// tickInterval is how often the scheduler looks for due work on its own.
const tickInterval = time.Second

func newSchedule(through int64) *schedule {
	sc := &schedule{queued: map[job]bool{}, Through: through}
	sc.add(job{At: nextDayStart(through), Kind: jobPayoutRun})
	return sc
}

func (sc *schedule) Len() int           { return len(sc.jobs) }
func (sc *schedule) Less(i, j int) bool { return sc.jobs[i].before(sc.jobs[j]) }
func (sc *schedule) Swap(i, j int)      { sc.jobs[i], sc.jobs[j] = sc.jobs[j], sc.jobs[i] }
func (sc *schedule) Push(x any)         { sc.jobs = append(sc.jobs, x.(job)) }
func (sc *schedule) Pop() any {
	j := sc.jobs[len(sc.jobs)-1]
	sc.jobs = sc.jobs[:len(sc.jobs)-1]
	return j
}

// add queues j unless the same job is already queued.
func (sc *schedule) add(j job) {
	if sc.queued[j] {
		return
	}
	sc.queued[j] = true
	heap.Push(sc, j)
}

// pop takes the first job due by now.
func (sc *schedule) pop(now int64) (job, bool) {
	if len(sc.jobs) == 0 || sc.jobs[0].At > now {
		return job{}, false
	}
	j := heap.Pop(sc).(job)
	delete(sc.queued, j)
	return j, true
}

// nextDayStart is the first start of a UTC day after t.
func nextDayStart(t int64) int64 {
	return (t/86400 + 1) * 86400
}

// runDue does all work due by the clock's now, up to maxJobsPerRun jobs.
func (s *Server) runDue() {
	s.mu.Lock()
	deliveries, _ := s.runDueLocked(s.clock.now().Unix(), maxJobsPerRun)
	s.mu.Unlock()
	s.hooks.enqueue(deliveries)
}

// runAllDue does all work due by the clock's now, however much there is.
func (s *Server) runAllDue() {
	for {
		s.mu.Lock()
		deliveries, more := s.runDueLocked(s.clock.now().Unix(), maxJobsPerRun)
		s.mu.Unlock()
		s.hooks.enqueue(deliveries)
		if !more {
			return
		}
	}
}

// runDueLocked runs up to limit jobs due by now and reports whether more
// are due.
func (s *Server) runDueLocked(now int64, limit int) (deliveries []*delivery, more bool) {
	sc := s.st.sched
	for range limit {
		j, ok := sc.pop(now)
		if !ok {
			sc.Through = max(sc.Through, now)
			return deliveries, false
		}
		deliveries = append(deliveries, s.runJob(j)...)
	}
	return deliveries, true
}

// runJob does one job as a call of the emulator itself, at the job's due
// time, and returns the deliveries of the events it made.
func (s *Server) runJob(j job) []*delivery {
	acct := j.ID // the account whose funds became available
	if o, ok := s.st.Objects.lookup(j.ID); ok && j.Kind != jobFundsAvailable {
		acct = o.meta().Acct
	}
	c := s.systemCall(nil, acct)
	c.now = j.At
	switch j.Kind {
	case jobFundsAvailable:
		c.emit("balance.available", c.st.balanceAt(j.ID, j.At))
	case jobDisputeOpen:
		c.openDispute(j.ID)
	case jobDisputeDecide:
		c.decideDispute(j.ID)
	case jobDisputeExpire:
		c.expireDispute(j.ID)
	case jobPayoutRun:
		c.st.sched.add(job{At: nextDayStart(j.At), Kind: jobPayoutRun})
		c.automaticPayouts()
	case jobPayoutSubmit:
		c.submitPayout(j.ID)
	case jobPayoutArrive:
		c.arrivePayout(j.ID)
	}
	return c.commitEvents()
}

// rebuild queues the jobs the objects call for, after a snapshot is loaded.
// Objects are visited in a fixed order; the queue's order does not depend
// on it anyway.
func (sc *schedule) rebuild(st *state) {
	keys := make([]listKey, 0, len(st.Lists))
	for k := range st.Lists {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		return keys[i].Acct < keys[j].Acct || keys[i].Acct == keys[j].Acct && keys[i].Kind < keys[j].Kind
	})
	for _, k := range keys {
		for _, o := range st.Lists[k] {
			if d, ok := o.(interface{ dueJobs(*schedule) }); ok {
				d.dueJobs(sc)
			}
		}
	}
}

// startTicker runs the scheduler once every tickInterval until Close, so
// due work happens on a real-time clock even when no request comes.
func (s *Server) startTicker() {
	s.tickStop = make(chan struct{})
	s.tickDone = make(chan struct{})
	go func() {
		defer close(s.tickDone)
		t := time.NewTicker(tickInterval)
		defer t.Stop()
		for {
			select {
			case <-s.tickStop:
				return
			case <-t.C:
				s.runDue()
			}
		}
	}()
}

func (s *Server) stopTicker() {
	close(s.tickStop)
	<-s.tickDone
}
