package chaos

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, for a run's own database

	"github.com/tenderpay/tender/emulator"
)

// Banner patterns of the child processes' stdout.
var (
	emulatorBanner = map[string]*regexp.Regexp{"url": regexp.MustCompile(`^\s*listening on\s+(http://\S+)`)}
	serveBanner    = map[string]*regexp.Regexp{
		"url": regexp.MustCompile(`^\s*listening on\s+(http://\S+)`),
		"key": regexp.MustCompile(`^\s+(tk_(?:test|live)_\S+)\s*$`),
	}
)

// startTimeout bounds how long a child may take to start and answer.
const startTimeout = 60 * time.Second

// cluster is the system under test: a tender emulator that lives for the
// whole run, and a tender serve that is killed and restarted on the same
// address, database and emulator.
type cluster struct {
	cfg       Config
	log       *os.File
	emu       *process
	emuBase   string
	serve     *process
	addr      string
	dbURL     string
	dropDB    func() error
	masterKey string
	apiKey    string
	starts    int
}

// startCluster starts the emulator and the first tender serve, which
// creates the default platform and prints its first API key.
func startCluster(ctx context.Context, cfg Config) (*cluster, error) {
	c := &cluster{cfg: cfg}
	if err := c.start(ctx); err != nil {
		c.close()
		return nil, err
	}
	return c, nil
}

func (c *cluster) start(ctx context.Context) (err error) {
	cfg := c.cfg
	if err = os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return err
	}
	if c.log, err = os.Create(filepath.Join(cfg.Dir, "processes.log")); err != nil {
		return err
	}
	if c.dbURL, c.dropDB, err = database(ctx, cfg); err != nil {
		return err
	}
	if c.masterKey, err = newMasterKey(); err != nil {
		return err
	}
	if c.addr, err = freeAddr(); err != nil {
		return err
	}
	if err = c.startEmulator(); err != nil {
		return err
	}
	if err = c.startServe(ctx); err != nil {
		return err
	}
	c.apiKey, err = c.serve.await("key", 5*time.Second)
	return err
}

func (c *cluster) startEmulator() error {
	args := []string{"emulator", "--addr", "127.0.0.1:0", "--seed", fmt.Sprint(c.cfg.Seed),
		"--latency", c.cfg.Latency.String(), "--latency-jitter", c.cfg.LatencyJitter.String(), "--log-level", "warn"}
	p, err := startProcess("tender emulator", c.cfg.Binary, args, childEnv(), c.log, emulatorBanner)
	if err != nil {
		return err
	}
	c.emu = p
	c.emuBase, err = p.await("url", startTimeout)
	return err
}

// startServe starts tender serve and waits until it is ready.
func (c *cluster) startServe(ctx context.Context) error {
	c.starts++
	fmt.Fprintf(c.log, "--- chaos: starting tender serve (%d)\n", c.starts)
	env := childEnv(
		"TENDER_ADDR="+c.addr,
		"TENDER_DATABASE_URL="+c.dbURL,
		"TENDER_MASTER_KEY="+c.masterKey,
		"TENDER_STRIPE_SECRET_KEY="+emulator.DefaultSecretKey,
		"TENDER_STRIPE_PUBLISHABLE_KEY="+emulator.DefaultPublishableKey,
		"TENDER_STRIPE_API_BASE="+c.emuBase,
		// Where the emulator delivers Stripe's events: serve's address,
		// the same across restarts.
		"TENDER_PUBLIC_URL="+c.base(),
		// The emulator runs without a rate limit; Stripe's test-mode 25/s
		// would make the run measure the limiter rather than crashes.
		"TENDER_STRIPE_RATE_LIMIT=off",
		"TENDER_STRIPE_ENDPOINT_RATE_LIMIT=off",
		"TENDER_JOB_POLL_INTERVAL=100ms",
		// The run's webhook endpoint is on loopback.
		"TENDER_WEBHOOK_ALLOW_PRIVATE=true",
		"TENDER_LOG_LEVEL=warn",
	)
	p, err := startProcess("tender serve", c.cfg.Binary, []string{"serve"}, env, c.log, serveBanner)
	if err != nil {
		return err
	}
	c.serve = p
	return waitReady(ctx, c.base()+"/readyz", startTimeout, p)
}

// base is Tender's URL; it stays the same across restarts.
func (c *cluster) base() string { return "http://" + c.addr }

// crash kills tender serve with SIGKILL and starts it again.
func (c *cluster) crash(ctx context.Context) error {
	fmt.Fprintf(c.log, "--- chaos: SIGKILL tender serve\n")
	c.serve.kill()
	return c.startServe(ctx)
}

// close stops both processes and drops a PostgreSQL run's database.
func (c *cluster) close() {
	if c.serve != nil {
		c.serve.stop(10 * time.Second)
	}
	if c.emu != nil {
		c.emu.stop(10 * time.Second)
	}
	if c.dropDB != nil && !c.cfg.KeepDatabase {
		if err := c.dropDB(); err != nil {
			fmt.Fprintf(c.log, "--- chaos: dropping the run's database: %v\n", err)
		}
	}
	if c.log != nil {
		c.log.Close()
	}
}

// newMasterKey is a fresh master key, given to every start of the run:
// PostgreSQL has no key file beside it.
func newMasterKey() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// database returns the run's database URL: a new SQLite file in the run's
// directory, or a new database on the PostgreSQL server cfg.Database
// names, with a function that drops it.
func database(ctx context.Context, cfg Config) (string, func() error, error) {
	if cfg.Database == "" || cfg.Database == "sqlite" {
		return "sqlite:" + filepath.Join(cfg.Dir, "tender.db"), nil, nil
	}
	if !strings.HasPrefix(cfg.Database, "postgres://") && !strings.HasPrefix(cfg.Database, "postgresql://") {
		return "", nil, fmt.Errorf("database %q: want sqlite or a postgres:// URL", cfg.Database)
	}
	u, err := url.Parse(cfg.Database)
	if err != nil {
		return "", nil, fmt.Errorf("database: not a URL")
	}
	name := fmt.Sprintf("tender_chaos_%d_%d", cfg.Seed, time.Now().UnixNano())
	admin, err := sql.Open("pgx", cfg.Database)
	if err != nil {
		return "", nil, err
	}
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		admin.Close()
		return "", nil, fmt.Errorf("create database %s: %w", name, err)
	}
	u.Path = "/" + name
	drop := func() error {
		defer admin.Close()
		_, err := admin.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		return err
	}
	return u.String(), drop, nil
}
