package main

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestServeFailsClearly checks that serve refuses to start with one line
// that says what is wrong, and exit status 1 (not a usage error: the call
// was right, the world was not).
func TestServeFailsClearly(t *testing.T) {
	t.Parallel()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { taken.Close() })

	notDir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notDir, []byte("not a directory"), 0o600); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		env  []string
		args []string
		want []string // substrings of the error
	}{
		{"port in use",
			[]string{"TENDER_DATABASE_URL", "sqlite:" + filepath.Join(t.TempDir(), "t.db")},
			[]string{"--addr", taken.Addr().String()},
			[]string{"cannot listen on " + taken.Addr().String(), "already in use", "TENDER_ADDR"}},
		{"database directory is a file",
			[]string{"TENDER_DATABASE_URL", "sqlite:" + filepath.Join(notDir, "x.db")},
			[]string{"--addr", "127.0.0.1:0"},
			[]string{"SQLite", filepath.Join(notDir, "x.db")}},
		{"postgres unreachable",
			[]string{"TENDER_DATABASE_URL", "postgres://postgres:s3cret@127.0.0.1:1/x?sslmode=disable&connect_timeout=2"},
			[]string{"--addr", "127.0.0.1:0"},
			[]string{"cannot reach PostgreSQL", "127.0.0.1:1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			stdout, stderr, err := runCmd(t, envOf(tt.env...), append([]string{"serve"}, tt.args...)...)
			if err == nil {
				t.Fatalf("serve succeeded; stdout:\n%s", stdout)
			}
			if isUsage(err) {
				t.Errorf("error %q is a usage error; want exit status 1", err)
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("error spans several lines:\n%s", msg)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not mention %q", msg, w)
				}
			}
			if strings.Contains(msg+stdout+stderr, "s3cret") {
				t.Errorf("the database password was printed: %q", msg)
			}
			if strings.Contains(stdout, "listening") {
				t.Errorf("banner printed although serve failed:\n%s", stdout)
			}
		})
	}
}
