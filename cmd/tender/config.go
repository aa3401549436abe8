package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/tenderpay/tender/internal/store"
)

// setting is one configuration value, settable by flag or environment
// variable, validated at start.
type setting struct {
	flag, env, def, help string
	// check validates a value; its error says what is accepted.
	check func(string) error
}

var (
	setAddr = setting{"addr", "TENDER_ADDR", "127.0.0.1:8080", "address to listen on (host:port; port 0 picks a free one)", checkAddr}
	setDB   = setting{"database", "TENDER_DATABASE_URL", "sqlite:tender.db",
		"database: sqlite:PATH (or a bare path) or postgres://user@host/db", checkDatabaseURL}
	setDBConns  = setting{"db-max-conns", "TENDER_DB_MAX_CONNS", "20", "PostgreSQL connection pool size (1–1000; SQLite always uses 1)", checkInt(1, 1000)}
	setWorkers  = setting{"workers", "TENDER_WORKERS", "10", "background jobs run at once (1–1000)", checkInt(1, 1000)}
	setPoll     = setting{"job-poll-interval", "TENDER_JOB_POLL_INTERVAL", "500ms", "how often idle workers look for jobs (10ms–1m)", checkDuration(10*time.Millisecond, time.Minute)}
	setShutdown = setting{"shutdown-timeout", "TENDER_SHUTDOWN_TIMEOUT", "30s", "time to drain requests and jobs on SIGINT/SIGTERM (1s–10m)", checkDuration(time.Second, 10*time.Minute)}
	setLogLevel = setting{"log-level", "TENDER_LOG_LEVEL", "info", "debug, info, warn or error", checkOneOf("debug", "info", "warn", "error")}
	setLogFmt   = setting{"log-format", "TENDER_LOG_FORMAT", "text", "text or json", checkOneOf("text", "json")}
	setPlatform = setting{"platform-name", "TENDER_PLATFORM_NAME", "Default platform", "name of the default platform, when it is first created", checkNonEmpty}
)

func settingsFor(cmd string) []setting {
	switch cmd {
	case "serve":
		return []setting{setAddr, setDB, setDBConns, setWorkers, setPoll, setShutdown, setLogLevel, setLogFmt, setPlatform}
	default:
		return []setting{setDB, setLogLevel, setLogFmt}
	}
}

// config holds validated settings by flag name.
type config map[string]string

// loadConfig parses args against the command's settings: a flag wins over
// its environment variable, which wins over the default. Every value is
// validated; the first bad one is a usage error naming the flag or the
// variable and what it accepts.
func loadConfig(cmd string, args []string, getenv func(string) string, stderr io.Writer) (config, []string, error) {
	settings := settingsFor(cmd)
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintf(stderr, "Settings for 'tender %s':\n\n%s", cmd, settingsHelp(settings)) }
	flags := map[string]*string{}
	for _, s := range settings {
		flags[s.flag] = fs.String(s.flag, "", s.help)
	}
	if err := fs.Parse(args); err != nil {
		return nil, nil, usagef("%v", err)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	cfg := config{}
	for _, s := range settings {
		v, source := s.def, "default"
		if e := getenv(s.env); e != "" {
			v, source = e, s.env
		}
		if set[s.flag] {
			v, source = *flags[s.flag], "--"+s.flag
		}
		if err := s.check(v); err != nil {
			return nil, nil, usagef("invalid %s=%q: %v", source, v, err)
		}
		cfg[s.flag] = v
	}
	return cfg, fs.Args(), nil
}

func settingsHelp(settings []setting) string {
	var b strings.Builder
	for _, s := range settings {
		fmt.Fprintf(&b, "  --%-20s %-26s %s (default %q)\n", s.flag, s.env, s.help, s.def)
	}
	return b.String()
}

func (c config) int(name string) int {
	n, _ := strconv.Atoi(c[name]) // validated by loadConfig
	return n
}

func (c config) duration(name string) time.Duration {
	d, _ := time.ParseDuration(c[name]) // validated by loadConfig
	return d
}

func (c config) logger(w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c[setLogLevel.flag]))
	opts := &slog.HandlerOptions{Level: level}
	if c[setLogFmt.flag] == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func checkAddr(v string) error {
	_, port, err := net.SplitHostPort(v)
	if err != nil {
		return fmt.Errorf("want host:port, e.g. 127.0.0.1:8080")
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("want host:port with a port from 0 to 65535")
	}
	return nil
}

func checkDatabaseURL(v string) error {
	_, _, err := store.ParseURL(v)
	if err != nil {
		return fmt.Errorf("%v; want sqlite:PATH, a file path, or postgres://…", err)
	}
	return nil
}

func checkInt(lo, hi int) func(string) error {
	return func(v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			return fmt.Errorf("want an integer from %d to %d", lo, hi)
		}
		return nil
	}
}

func checkDuration(lo, hi time.Duration) func(string) error {
	return func(v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < lo || d > hi {
			return fmt.Errorf("want a duration from %v to %v, e.g. 500ms or 2s", lo, hi)
		}
		return nil
	}
}

func checkOneOf(options ...string) func(string) error {
	return func(v string) error {
		for _, o := range options {
			if v == o {
				return nil
			}
		}
		return fmt.Errorf("want one of %s", strings.Join(options, ", "))
	}
}

func checkNonEmpty(v string) error {
	if strings.TrimSpace(v) == "" {
		return fmt.Errorf("must not be empty")
	}
	return nil
}
