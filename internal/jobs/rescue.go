package jobs

import (
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// How soon work in flight resumes after its process dies. A job left
// running by a killed process stays running until the elected leader's
// rescuer finds it running for longer than RescueAfter and makes it
// available again. Every Tender job resumes from what is saved and calls
// Stripe with deterministic idempotency keys, so running one again is
// safe and the rescue can come early; what must not happen is a live run
// being taken for dead. Every kind's timeout (Add) ends a live run, by
// cancelling its context, at least RescueMargin before it could be rescued.
// The numbers and why are in docs/ARCHITECTURE.md ("Jobs").
const (
	// DefaultTimeout is how long one run of a job may take unless its kind
	// says otherwise when registered. A Tender job makes a handful of
	// Stripe calls, each normally answered within a second or two; a run
	// still going after half a minute is waiting on a Stripe (or a
	// database) that is unwell, and is better cancelled and retried with
	// backoff than left holding a worker. Its progress is saved as it goes.
	// Kept short because it sets how soon a dead process's work resumes:
	// within two minutes of a kill, with RescueMargin.
	DefaultTimeout = 30 * time.Second

	// RescueMargin is how much longer than the longest timeout a job must
	// be running before it is rescued. It covers the time between River
	// stamping attempted_at (when the job is fetched, by the database's
	// clock) and the run starting, the writing of the run's outcome after
	// its context is cancelled, and the difference between the leader's
	// clock, which the rescuer reads, and the database's.
	RescueMargin = 30 * time.Second

	// RescueAfter is River's RescueStuckJobsAfter: how long a job may be
	// running before the leader takes its process for dead.
	RescueAfter = DefaultTimeout + RescueMargin

	// RescueInterval is how often the leader's rescuer looks, and
	// ScheduleInterval how often its scheduler makes rescued and retryable
	// jobs available: River v0.31's fixed values
	// (maintenance.JobRescuerIntervalDefault, JobSchedulerIntervalDefault).
	RescueInterval   = 30 * time.Second
	ScheduleInterval = 5 * time.Second

	// LeaderTTL is how long River's leadership lasts unless renewed, and
	// ElectInterval how often a client that is not leader tries to become
	// it (5s plus up to 1s of jitter); the leader renews every 5s. River
	// v0.31 fixes both (leadership.electIntervalDefault, plus 10s of
	// padding for the TTL): a dead leader is replaced within
	// LeaderTakeover.
	LeaderTTL      = 15 * time.Second
	ElectInterval  = 6 * time.Second
	LeaderTakeover = LeaderTTL + ElectInterval + time.Second // a new leader's maintenance starts within a second
)

// ResumeWithin bounds how long after its run began a job whose process
// died is running again, given that a leader is up by then (LeaderTakeover
// after a leader dies; on a single node, after the restart): it is
// rescued at the rescuer's first pass past RescueAfter, due at once (see
// retryPolicy), made available by the scheduler's next pass and fetched
// within pollInterval.
func ResumeWithin(pollInterval time.Duration) time.Duration {
	return RescueAfter + RescueInterval + ScheduleInterval + pollInterval
}

// Workers are the kinds of job a Client runs, each with its timeout.
type Workers struct {
	river   *river.Workers
	longest time.Duration
}

// NewWorkers returns an empty set of workers.
func NewWorkers() *Workers { return &Workers{river: river.NewWorkers()} }

// Add registers w for its kind of job. River cancels a run's context after
// timeout (DefaultTimeout if zero). Each kind states its timeout here, where
// it is registered, so that New can check that no live run lasts long enough
// to be rescued.
func Add[T river.JobArgs](ws *Workers, w river.Worker[T], timeout time.Duration) {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	river.AddWorker(ws.river, timed[T]{Worker: w, timeout: timeout})
	ws.longest = max(ws.longest, timeout)
}

// timed is a worker with the timeout its kind was registered with.
type timed[T river.JobArgs] struct {
	river.Worker[T]
	timeout time.Duration
}

// Timeout implements river.Worker.
func (w timed[T]) Timeout(*river.Job[T]) time.Duration { return w.timeout }

// retryPolicy is River's default backoff (attempt⁴ seconds plus jitter)
// for a run that failed, and no wait at all for a job the rescuer took
// from a dead process: that run did not fail, it was lost, and the point of
// rescuing it is to resume it now, whichever attempt it was on. The rescuer
// only asks about jobs running for longer than RescueAfter; a run that
// returned an error was cancelled by its timeout well before that, so the
// two cannot be confused. A run that ignored its cancellation for that long
// is retried at once too, which is what the rescuer would have done.
type retryPolicy struct {
	river.DefaultClientRetryPolicy
	nowFunc func() time.Time
}

// NextRetry implements river.ClientRetryPolicy.
func (p *retryPolicy) NextRetry(job *rivertype.JobRow) time.Time {
	now := p.nowFunc().UTC()
	if job.AttemptedAt != nil && now.Sub(*job.AttemptedAt) >= RescueAfter {
		return now
	}
	// River's default reads its own clock; keep its delay, from ours.
	return now.Add(time.Until(p.DefaultClientRetryPolicy.NextRetry(job)))
}

// GiveUpWithin bounds how long River keeps retrying a job allowed
// maxAttempts runs before it discards it: the default policy's backoffs
// between them (n⁴ seconds after the nth, plus up to 10% jitter) and each
// run at its longest, ended by its timeout or, if its process died, by the
// rescue. Snoozes do not count: a snoozed job is still River's. Past this
// a row whose job is gone can only be requeued by Tender's janitor.
func GiveUpWithin(maxAttempts int) time.Duration {
	var backoff time.Duration
	for n := 1; n < maxAttempts; n++ {
		backoff += time.Duration(n*n*n*n) * time.Second
	}
	run := RescueAfter + RescueInterval + ScheduleInterval
	return backoff*11/10 + time.Duration(maxAttempts)*run
}
