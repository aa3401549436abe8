// Package browsertest runs headless Chromium for tests that drive pages the
// way a customer would: the emulator's Stripe.js and OAuth pages, Tender's
// hosted pages.
//
// Chromium is found through TENDER_TEST_CHROMIUM (a path to the binary);
// .ci/run installs Debian's chromium and sets it. When it is unset, tests
// skip with a message, except under CI=true, where a missing browser fails
// the test so that CI never passes with the browser tests skipped.
//
// On failure a test's screenshots are kept: Shot saves one whenever it is
// called, into TENDER_TEST_ARTIFACTS or, by default,
// $TMPDIR/tender-artifacts, and the test's log says where.
package browsertest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Timeout bounds each test's browser session, so that a page that never
// loads fails the test instead of hanging CI.
const Timeout = 60 * time.Second

// Browser is one headless Chromium with one tab, closed when the test ends.
type Browser struct {
	t   testing.TB
	Ctx context.Context // for chromedp.Do and chromedp.Run
	// shots are the screenshots taken so far, kept on failure.
	shots []shot
}

type shot struct {
	name string
	png  []byte
}

// New starts Chromium for t, or skips t when no browser is configured.
func New(t testing.TB) *Browser {
	t.Helper()
	path := os.Getenv("TENDER_TEST_CHROMIUM")
	if path == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("TENDER_TEST_CHROMIUM is unset under CI=true; .ci/run installs Chromium and sets it")
		}
		t.Skip("set TENDER_TEST_CHROMIUM to a Chromium binary (Debian: apt-get install chromium; TENDER_TEST_CHROMIUM=/usr/bin/chromium) to run browser tests")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1024, 900),
	}
	ctx, cancelTimeout := context.WithTimeout(context.Background(), Timeout)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	b := &Browser{t: t, Ctx: bctx}
	// Start the browser now, so that a broken installation fails here with
	// a clear message rather than in the test's first action.
	if err := chromedp.Do(bctx); err != nil {
		cancelBrowser()
		cancelAlloc()
		cancelTimeout()
		t.Fatalf("start Chromium (%s): %v", path, err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			b.saveShots()
		}
		cancelBrowser()
		cancelAlloc()
		cancelTimeout()
	})
	return b
}

// Do runs actions in the browser, in order, and fails the test if any
// fails, after taking a screenshot of the page as it was.
func (b *Browser) Do(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.Ctx, actions...); err != nil {
		b.Shot("failure")
		b.t.Fatal(err)
	}
}

// Run runs one action that returns a value (chromedp.Text,
// chromedp.Evaluate, …) and returns it, failing the test like Do.
func Run[T any](b *Browser, action chromedp.Action[T]) T {
	b.t.Helper()
	v, err := chromedp.Run(b.Ctx, action)
	if err != nil {
		b.Shot("failure")
		b.t.Fatal(err)
	}
	return v
}

// Shot takes a screenshot of the page as it is now, kept if the test fails.
// Errors are logged, not fatal: a screenshot is evidence, not the test.
func (b *Browser) Shot(name string) {
	b.t.Helper()
	// A fresh short deadline: the test's own may be what just expired.
	ctx, cancel := context.WithTimeout(b.Ctx, 5*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: PNG, as the files are named
	if err != nil {
		b.t.Logf("screenshot %q: %v", name, err)
		return
	}
	b.shots = append(b.shots, shot{name, png})
}

// ArtifactDir is where screenshots of failed tests go.
func ArtifactDir() string {
	if dir := os.Getenv("TENDER_TEST_ARTIFACTS"); dir != "" {
		return dir
	}
	return filepath.Join(os.TempDir(), "tender-artifacts")
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

func (b *Browser) saveShots() {
	if len(b.shots) == 0 {
		return
	}
	dir := ArtifactDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Logf("screenshots not saved: %v", err)
		return
	}
	prefix := unsafeName.ReplaceAllString(strings.ReplaceAll(b.t.Name(), "/", "-"), "_")
	for i, s := range b.shots {
		path := filepath.Join(dir, fmt.Sprintf("%s-%02d-%s.png", prefix, i+1, unsafeName.ReplaceAllString(s.name, "_")))
		if err := os.WriteFile(path, s.png, 0o644); err != nil {
			b.t.Logf("screenshot %q not saved: %v", s.name, err)
			continue
		}
		b.t.Logf("screenshot: %s", path)
	}
}
