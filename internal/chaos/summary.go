package chaos

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// maxOffenders bounds the offenders the summary lists; record.json in the
// run's directory has them all.
const maxOffenders = 50

// Summary writes the reconciliation summary: the run, its figures, the
// counts per kind, and the offenders.
func (res *Result) Summary(w io.Writer) {
	c, s := res.Config, res.Stats
	db := "sqlite"
	if c.Database != "sqlite" {
		db = "postgres"
	}
	fmt.Fprintf(w, "tender chaos: seed %d, %s, %d payments, %d kills, concurrency %d, emulator latency %v ± %v\n",
		c.Seed, db, c.Payments, c.Kills, c.Concurrency, c.Latency, c.LatencyJitter)
	fmt.Fprintf(w, "kills %d, restarts %d (longest %v); requests %d (%d retried), HTTP attempts %d, retries %d\n",
		s.Kills, s.Restarts, s.RestartMax.Round(10*time.Millisecond), s.Requests, s.RetriedRequests, s.Attempts, s.Retries)
	fmt.Fprintf(w, "elapsed %v (load %v; final check %v after the last restart, %d payments not final)\n\n",
		s.Elapsed.Round(time.Second), s.Load.Round(time.Second), s.Settled.Round(time.Second), s.Open)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "kind\tmatch\tmismatch\tmissing\tduplicate\t")
	for _, k := range kinds {
		n := res.Report.Counts[k]
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t\n", k, n.Match, n.Mismatch, n.Missing, n.Duplicate)
	}
	tw.Flush()
	wh := s.Webhooks
	fmt.Fprintf(w, "\nwebhooks: %d of %d events delivered, %d missing, %d repeats (sent again after a kill), %d out of order; %v after the last restart\n",
		wh.Delivered, wh.Events, wh.Missing, wh.Repeats, len(wh.OutOfOrder), wh.Settled.Round(time.Second))
	for _, o := range wh.OutOfOrder {
		fmt.Fprintf(w, "  out of order: %s\n", o)
	}
	in := s.Inbox
	fmt.Fprintf(w, "stripe events: %d of %d in the inbox (%d by webhook, %d only by the backfill), %d missing, %d unfinished; %v after the last restart\n",
		in.InInbox, in.AtStripe, in.ByWebhook, in.OnlyByBackfill, in.Missing, len(in.Unfinished), in.Settled.Round(time.Second))
	for i, u := range in.Unfinished {
		if i == maxOffenders {
			break
		}
		fmt.Fprintf(w, "  unfinished: %s\n", u)
	}
	res.offenders(w)
}

func (res *Result) offenders(w io.Writer) {
	off := res.Report.Offenders
	if len(off) == 0 && !res.OK() {
		fmt.Fprintf(w, "\nresult: FAIL, webhooks missing or out of order, or Stripe events missing or unfinished; files in %s\n", res.Dir)
		return
	}
	if len(off) == 0 {
		fmt.Fprintln(w, "\nresult: every request, payment, refund, transfer and fee matched")
		return
	}
	fmt.Fprintf(w, "\noffenders (%d):\n", len(off))
	for i, o := range off {
		if i == maxOffenders {
			fmt.Fprintf(w, "  … %d more in %s/record.json\n", len(off)-maxOffenders, res.Dir)
			break
		}
		fmt.Fprintf(w, "  %s %s %s: %s\n", o.Kind, o.Class, o.ID, strings.TrimSpace(o.Detail))
	}
	fmt.Fprintf(w, "\nresult: FAIL, %d offenders; files in %s\n", len(off), res.Dir)
}
