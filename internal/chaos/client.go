package chaos

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// client calls Tender's API as a careful platform does: every logical
// request keeps its Idempotency-Key across retries, and is retried on
// network errors, 5xx, 429 and 409 idempotency_key_in_use, with
// exponential backoff and jitter, until a definitive answer or its
// deadline. It records every logical request.
type client struct {
	base    string
	key     string
	http    *http.Client
	timeout time.Duration // a logical request's deadline, over all attempts

	mu        sync.Mutex
	exchanges []Exchange
	attempts  atomic.Int64
	retries   atomic.Int64
}

// Backoff bounds. The lease on the key of a request that died runs out
// within idempotency.Lease (30s), so the deadline (client.timeout) must
// exceed that; the cap keeps a retry within two seconds of its end.
const (
	backoffFirst = 50 * time.Millisecond
	backoffMax   = 2 * time.Second
)

func newClient(base, key string, timeout time.Duration) *client {
	return &client{base: base, key: key, timeout: timeout,
		http: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
}

// errorBody is Tender's error object.
type errorBody struct {
	Error struct {
		Type    string `json:"type"`
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// retryable says whether a careful platform sends the request again: the
// outcome is unknown (5xx, a dropped connection), Tender is busy (429), or
// the key's first request is still in flight (409 idempotency_key_in_use).
func retryable(status int, body []byte) bool {
	switch {
	case status >= 500, status == http.StatusTooManyRequests:
		return true
	case status == http.StatusConflict:
		var e errorBody
		_ = json.Unmarshal(body, &e)
		return e.Error.Code == "idempotency_key_in_use"
	}
	return false
}

// do sends one logical request until it has a definitive answer, and
// records it. body is sent as JSON; key is "" for a GET. out, when not
// nil, receives a 2xx body.
func (c *client) do(ctx context.Context, rng *rand.Rand, kind, method, path, key string, body, out any) (Exchange, error) {
	ex := Exchange{Kind: kind, Method: method, Path: path, Key: key, Started: time.Now()}
	raw, err := json.Marshal(body)
	if err != nil {
		return ex, err
	}
	if body == nil {
		raw = nil
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	for wait := backoffFirst; ; wait = min(2*wait, backoffMax) {
		ex.Attempts++
		c.attempts.Add(1)
		status, resp, err := c.attempt(ctx, method, path, key, raw)
		if err == nil && !retryable(status, resp) {
			ex.Status, ex.Body = status, string(resp)
			break
		}
		ex.Err = describe(status, resp, err)
		if !sleep(ctx, jitter(rng, wait)) {
			break
		}
		c.retries.Add(1)
	}
	ex.Elapsed = time.Since(ex.Started)
	c.record(ex)
	if out != nil && ex.Status/100 == 2 {
		return ex, json.Unmarshal([]byte(ex.Body), out)
	}
	return ex, nil
}

func (c *client) attempt(ctx context.Context, method, path, key string, raw []byte) (int, []byte, error) {
	var rd io.Reader
	if raw != nil {
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

func describe(status int, body []byte, err error) string {
	if err != nil {
		return err.Error()
	}
	var e errorBody
	_ = json.Unmarshal(body, &e)
	return fmt.Sprintf("%d %s", status, e.Error.Code)
}

// jitter spreads d over [d/2, d) so that clients retrying together after a
// restart do not arrive together.
func jitter(rng *rand.Rand, d time.Duration) time.Duration {
	return d/2 + time.Duration(rng.Int64N(int64(d/2)+1))
}

// sleep waits d, or returns false when ctx ends first.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func (c *client) record(ex Exchange) {
	if ex.Method == http.MethodGet {
		return // polls are many and change nothing; counted in attempts
	}
	c.mu.Lock()
	c.exchanges = append(c.exchanges, ex)
	c.mu.Unlock()
}

// answerOf classifies a logical request's final outcome.
func answerOf(ex Exchange) Answer {
	switch {
	case ex.Status == 0:
		return AnswerNone
	case ex.Status/100 == 2:
		return AnswerOK
	}
	return AnswerRefused
}

// errNoAnswer is a setup request that got no definitive 2xx.
var errNoAnswer = errors.New("no definitive 2xx answer")

// must is do for setup steps, which need their answer to go on.
func (c *client) must(ctx context.Context, rng *rand.Rand, kind, method, path, key string, body, out any) error {
	ex, err := c.do(ctx, rng, kind, method, path, key, body, out)
	if err != nil {
		return err
	}
	if ex.Status/100 != 2 {
		return fmt.Errorf("%s %s: %w: %d %s %s", method, path, errNoAnswer, ex.Status, ex.Body, ex.Err)
	}
	return nil
}
