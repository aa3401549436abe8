package main

import (
	"strings"
	"testing"
)

// TestChaosHelp: tender help chaos documents the harness and every one of
// its settings, as the other commands' help does.
func TestChaosHelp(t *testing.T) {
	t.Parallel()
	out, _ := mustRun(t, envOf(), "help", "chaos")
	for _, want := range []string{"usage: tender chaos", "SIGKILL", "--seed", "--database", "--payments", "--kills",
		"--concurrency", "--latency", "--latency-jitter", "--request-timeout", "--settle", "TENDER_CHAOS_KILLS"} {
		if !strings.Contains(out, want) {
			t.Errorf("help chaos lacks %q:\n%s", want, out)
		}
	}
}

// TestChaosRefusesBadSettings: a setting the harness cannot use stops it
// with a usage error naming the setting, before any process is started.
func TestChaosRefusesBadSettings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		env  []string
		want string
	}{
		{[]string{"--payments", "10", "--kills", "10"}, nil, "--kills"},
		{[]string{"--database", "mysql://localhost/x"}, nil, "--database"},
		{nil, []string{"TENDER_CHAOS_SEED", "0"}, "TENDER_CHAOS_SEED"},
		{[]string{"--request-timeout", "1s"}, nil, "--request-timeout"},
		{[]string{"extra"}, nil, "no arguments"},
	}
	for _, tt := range tests {
		_, _, err := runCmd(t, envOf(tt.env...), append([]string{"chaos"}, tt.args...)...)
		if !isUsage(err) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("chaos %v %v = %v, want a usage error naming %s", tt.args, tt.env, err, tt.want)
		}
	}
}
