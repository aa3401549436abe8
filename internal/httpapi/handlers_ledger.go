package httpapi

import (
	"encoding/csv"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tenderpay/tender/internal/connect"
	"github.com/tenderpay/tender/internal/errs"
	"github.com/tenderpay/tender/internal/event"
	"github.com/tenderpay/tender/internal/ledger"
	"github.com/tenderpay/tender/internal/payment"
)

// balanceList is every balance asked for, as of one instant.
type balanceList struct {
	Object string               `json:"object"`
	AsOf   time.Time            `json:"as_of"`
	Data   []ledger.BalanceView `json:"data"`
}

// handleBalances answers the platform's and every merchant's balances, or
// one merchant's (merchant=).
func handleBalances(l *ledger.Store, now func() time.Time) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		merchant, err := queryID(r, "merchant", connect.MerchantPrefix)
		if err != nil {
			return err
		}
		f := ledger.BalanceFilter{}
		if merchant != "" {
			f = ledger.BalanceFilter{Owner: ledger.OwnerMerchant, MerchantID: merchant}
		}
		asOf := now().UTC()
		bs, err := l.Balances(r.Context(), principalFrom(r.Context()).PlatformID, f, asOf)
		if err != nil {
			return err
		}
		out := balanceList{Object: "balances", AsOf: asOf, Data: make([]ledger.BalanceView, len(bs))}
		for i, b := range bs {
			out.Data[i] = b.View()
		}
		writeJSON(w, http.StatusOK, out)
		return nil
	})
}

func handleLedgerEntryList(l *ledger.Store) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		page, err := parsePage(r, ledger.EntryPrefix)
		if err != nil {
			return err
		}
		var f ledger.EntryFilter
		if f.MerchantID, err = queryID(r, "merchant", connect.MerchantPrefix); err != nil {
			return err
		}
		if f.PaymentID, err = queryID(r, "payment", payment.PaymentPrefix); err != nil {
			return err
		}
		if f.From, f.Until, err = createdBounds(r); err != nil {
			return err
		}
		es, more, err := l.Entries(r.Context(), principalFrom(r.Context()).PlatformID, f, page)
		if err != nil {
			return err
		}
		out := make([]ledger.EntryView, len(es))
		for i, e := range es {
			out[i] = e.View()
		}
		writeJSON(w, http.StatusOK, newList(r, out, more))
		return nil
	})
}

// createdBounds reads created_at[gte|gt|lte|lt] as the event feed does,
// as a half-open range [from, until).
func createdBounds(r *http.Request) (from, until time.Time, err error) {
	var q event.Query
	err = createdRange(r, &q)
	return q.CreatedFrom, q.CreatedUntil, err
}

// transactionReport is one page of the report as JSON, with the period it
// covers.
type transactionReport struct {
	list[ledger.ReportLineView]
	From  time.Time `json:"from"`
	Until time.Time `json:"until"`
}

// CSV streaming: the lines go out in flushes of csvFlushLines, each of
// which the client must take within csvWriteWindow. The window replaces
// the server's write timeout, which would cut a long report short, and
// still ends a download whose client has stopped reading (on SQLite the
// report's statement holds the one connection while it waits).
const (
	csvFlushLines  = 500
	csvWriteWindow = time.Minute
)

// handleTransactionsReport answers the transactions report: JSON pages,
// or CSV when asked by the path (csv) or by Accept: text/csv.
//
// The period is created_at[gte|gt] to created_at[lt|lte]. The end
// defaults to now; the start to the beginning (UTC) of the month in which
// the period ends, so no parameters give the month to date and only
// created_at[lt]=2026-12-01T00:00:00Z gives November.
func handleTransactionsReport(l *ledger.Store, now func() time.Time, csvPath bool) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		asCSV := csvPath || wantsCSV(r.Header.Get("Accept"))
		var q ledger.ReportQuery
		var err error
		if q.MerchantID, err = queryID(r, "merchant", connect.MerchantPrefix); err != nil {
			return err
		}
		if q.From, q.Until, err = reportPeriod(r, now); err != nil {
			return err
		}
		platformID := principalFrom(r.Context()).PlatformID
		w.Header().Set("Vary", "Accept")
		if asCSV {
			for _, name := range []string{"limit", "starting_after", "ending_before"} {
				if r.URL.Query().Has(name) {
					return errs.Invalidf(name, "%s pages the JSON report; the CSV report is the whole period.", name)
				}
			}
			return writeReportCSV(w, r, l, platformID, q)
		}
		page, err := parsePage(r, ledger.EntryPrefix)
		if err != nil {
			return err
		}
		lines, more, err := l.ReportPage(r.Context(), platformID, q, page)
		if err != nil {
			return err
		}
		out := make([]ledger.ReportLineView, len(lines))
		for i, line := range lines {
			out[i] = line.View()
		}
		writeJSON(w, http.StatusOK, transactionReport{list: newList(r, out, more), From: q.From, Until: q.Until})
		return nil
	})
}

// reportPeriod reads the report's period and applies its defaults.
func reportPeriod(r *http.Request, now func() time.Time) (from, until time.Time, err error) {
	if from, until, err = createdBounds(r); err != nil {
		return from, until, err
	}
	if until.IsZero() {
		until = now().UTC().Truncate(time.Microsecond)
	}
	if from.IsZero() {
		last := until.Add(-time.Microsecond).UTC()
		from = time.Date(last.Year(), last.Month(), 1, 0, 0, 0, 0, time.UTC)
	}
	if !from.Before(until) {
		return from, until, errs.Invalidf("created_at[gte]", "The report's period must start before it ends: %s is not before %s.",
			from.Format(time.RFC3339Nano), until.Format(time.RFC3339Nano))
	}
	return from.UTC(), until.UTC(), nil
}

// writeReportCSV streams the report as CSV (RFC 4180, by encoding/csv):
// a header line, then a line per report line as the database yields it,
// flushed every csvFlushLines, so memory stays flat for any period. An
// error before the first line is answered as JSON; after it, the status
// is sent, so the response is aborted instead and the client sees a
// broken download rather than a short report that looks whole.
func writeReportCSV(w http.ResponseWriter, r *http.Request, l *ledger.Store, platformID string, q ledger.ReportQuery) error {
	rc := http.NewResponseController(w)
	cw := csv.NewWriter(w)
	started := false
	start := func() {
		started = true
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="transactions.csv"`)
		w.Header().Set("Cache-Control", "no-store")
		extendWrite(rc)
		w.WriteHeader(http.StatusOK)
		_ = cw.Write(ledger.ReportHeader)
	}
	var rec []string
	n := 0
	for line, err := range l.Report(r.Context(), platformID, q) {
		if err != nil {
			if !started {
				return err
			}
			loggerFrom(r.Context()).ErrorContext(r.Context(), "transactions report aborted", "err", err,
				"request_id", w.Header().Get("Request-Id"), "lines", n)
			panic(http.ErrAbortHandler)
		}
		if !started {
			start()
		}
		rec = line.Record(rec)
		if err := cw.Write(rec); err != nil {
			return nil // the client went away; nothing to tell it
		}
		if n++; n%csvFlushLines == 0 {
			if !flushCSV(cw, rc) {
				return nil
			}
		}
	}
	if !started {
		start()
	}
	flushCSV(cw, rc)
	return nil
}

// flushCSV sends what cw holds and gives the client another window to
// take the next flush; false if the client is gone.
func flushCSV(cw *csv.Writer, rc *http.ResponseController) bool {
	cw.Flush()
	if cw.Error() != nil {
		return false
	}
	if err := rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return false
	}
	extendWrite(rc)
	return true
}

func extendWrite(rc *http.ResponseController) {
	_ = rc.SetWriteDeadline(time.Now().Add(csvWriteWindow)) // unsupported (a test recorder): no deadline to move
}

// wantsCSV reports whether an Accept header prefers text/csv to JSON: a
// text/csv range with a weight above zero and at least that of
// application/json, the first listed winning a tie. Weights are read in
// thousandths, as RFC 9110 writes them.
func wantsCSV(accept string) bool {
	csvQ, jsonQ, csvAt, jsonAt := 0, 0, -1, -1
	for i, part := range strings.Split(accept, ",") {
		media, params, _ := strings.Cut(part, ";")
		q := weight(params)
		switch strings.ToLower(strings.TrimSpace(media)) {
		case "text/csv":
			if q > csvQ {
				csvQ, csvAt = q, i
			}
		case "application/json":
			if q > jsonQ {
				jsonQ, jsonAt = q, i
			}
		}
	}
	return csvQ > 0 && (csvQ > jsonQ || csvQ == jsonQ && csvAt < jsonAt)
}

// weight returns the q parameter among params in thousandths: 1000 when
// absent, 0 when malformed.
func weight(params string) int {
	for _, p := range strings.Split(params, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(k), "q") {
			continue
		}
		whole, frac, _ := strings.Cut(strings.TrimSpace(v), ".")
		if len(frac) > 3 {
			return 0
		}
		n, err := strconv.Atoi(whole + (frac + "000")[:3])
		if err != nil || (whole != "0" && whole != "1") || n > 1000 {
			return 0
		}
		return n
	}
	return 1000
}
