package store

import (
	"fmt"
	"slices"
)

// Page asks for one page of a list ordered newest first. IDs are
// time-ordered (see package id), so "newer" is "greater id" and a cursor is
// just an id. StartingAfter and EndingBefore are exclusive of each other;
// the API layer enforces that.
type Page struct {
	Limit         int
	StartingAfter string
	EndingBefore  string
}

// Clause returns the SQL that selects this page: a condition to AND into the
// WHERE clause on column col, the ORDER BY … LIMIT tail, and the argument for
// the condition (nil if none). argN is the placeholder number the cursor gets.
// It fetches one row more than Limit so that Trim can tell whether there are
// more.
func (p Page) Clause(col string, argN int) (cond, tail string, arg any) {
	switch {
	case p.StartingAfter != "":
		return fmt.Sprintf(" AND %s < $%d", col, argN), fmt.Sprintf(" ORDER BY %s DESC LIMIT %d", col, p.Limit+1), p.StartingAfter
	case p.EndingBefore != "":
		return fmt.Sprintf(" AND %s > $%d", col, argN), fmt.Sprintf(" ORDER BY %s ASC LIMIT %d", col, p.Limit+1), p.EndingBefore
	default:
		return "", fmt.Sprintf(" ORDER BY %s DESC LIMIT %d", col, p.Limit+1), nil
	}
}

// Trim takes the rows fetched with Clause and returns the page, newest first,
// and whether more rows lie beyond it in the direction of travel.
func Trim[T any](p Page, rows []T) ([]T, bool) {
	hasMore := len(rows) > p.Limit
	if hasMore {
		rows = rows[:p.Limit]
	}
	if p.EndingBefore != "" {
		slices.Reverse(rows)
	}
	return rows, hasMore
}
