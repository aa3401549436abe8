package httpapi

import (
	"net/http"
	"strconv"

	"github.com/tenderpay/tender/internal/errs"
	"github.com/tenderpay/tender/internal/store"
)

// list is the envelope of every list response.
type list[T any] struct {
	Object  string `json:"object"`
	URL     string `json:"url"`
	HasMore bool   `json:"has_more"`
	Data    []T    `json:"data"`
}

func newList[T any](r *http.Request, data []T, hasMore bool) list[T] {
	if data == nil {
		data = []T{}
	}
	return list[T]{Object: "list", URL: r.URL.Path, HasMore: hasMore, Data: data}
}

// parsePage reads limit (1–100, default 10), starting_after and
// ending_before from the query. The cursors must be ids of the listed type
// (prefix): any other string could match no object.
func parsePage(r *http.Request, prefix string) (store.Page, error) {
	q := r.URL.Query()
	p := store.Page{Limit: 10}
	var err error
	if p.StartingAfter, err = queryID(r, "starting_after", prefix); err != nil {
		return p, err
	}
	if p.EndingBefore, err = queryID(r, "ending_before", prefix); err != nil {
		return p, err
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 100 {
			return p, errs.Invalidf("limit", "limit must be an integer from 1 to 100, not %q.", s)
		}
		p.Limit = n
	}
	if p.StartingAfter != "" && p.EndingBefore != "" {
		return p, errs.Invalidf("ending_before", "starting_after and ending_before cannot both be given.")
	}
	return p, nil
}
