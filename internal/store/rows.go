package store

import (
	"context"
	"errors"
)

// Scanner is a row to read: *sql.Row or *sql.Rows.
type Scanner interface{ Scan(dest ...any) error }

// All reads every row query returns with scan, closing the rows.
func All[T any](ctx context.Context, q Querier, scan func(Scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, v)
	}
	return out, errors.Join(rows.Err(), rows.Close())
}

// List returns one page of what query selects, newest first, and whether
// more lie beyond it. query is a SELECT whose WHERE clause the page's
// condition on column id can be ANDed to; args are its arguments, after
// which the page's cursor is added.
func List[T any](ctx context.Context, q Querier, page Page, scan func(Scanner) (T, error), query string, args ...any) ([]T, bool, error) {
	cond, tail, cursor := page.Clause("id", len(args)+1)
	if cursor != nil {
		args = append(args, cursor)
	}
	rows, err := All(ctx, q, scan, query+cond+tail, args...)
	if err != nil {
		return nil, false, err
	}
	out, more := Trim(page, rows)
	return out, more, nil
}

// DeleteInBatches runs query, a DELETE whose last placeholder ($n, n =
// len(args)+1) is a LIMIT on the rows it picks, until it deletes fewer
// than batch rows, so that a large delete holds no lock for long. It
// returns how many rows it deleted in all.
func DeleteInBatches(ctx context.Context, q Querier, batch int, query string, args ...any) (int64, error) {
	var total int64
	args = append(args, batch)
	for {
		res, err := q.ExecContext(ctx, query, args...)
		if err != nil {
			return total, err
		}
		n, err := res.RowsAffected()
		total += n
		if err != nil || n < int64(batch) {
			return total, err
		}
	}
}
