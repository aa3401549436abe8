package chaos

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"
)

// process is one child tender process, its output appended to a log file.
type process struct {
	name string
	cmd  *exec.Cmd
	done chan struct{} // closed when it has exited
	err  error         // its exit, once done

	mu    sync.Mutex
	found map[string]string // banner values found on stdout, by pattern name
	seen  chan struct{}     // signalled on each value found
}

// startProcess runs bin with args and env, its stdout and stderr appended
// to log; stdout is also scanned for the patterns, whose first submatch is
// kept under their name.
func startProcess(name, bin string, args, env []string, log io.Writer, patterns map[string]*regexp.Regexp) (*process, error) {
	p := &process{name: name, done: make(chan struct{}), found: map[string]string{}, seen: make(chan struct{}, 1)}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = env
	p.cmd.Stderr = log
	p.cmd.SysProcAttr = sysProcAttr()
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go p.scan(out, log, patterns)
	return p, nil
}

// scan copies stdout to log and keeps the banner values, then waits for
// the process: Wait must follow the last read of the pipe.
func (p *process) scan(out io.Reader, log io.Writer, patterns map[string]*regexp.Regexp) {
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := sc.Text()
		fmt.Fprintln(log, line)
		for k, re := range patterns {
			if m := re.FindStringSubmatch(line); m != nil {
				p.mu.Lock()
				if _, ok := p.found[k]; !ok {
					p.found[k] = m[1]
				}
				p.mu.Unlock()
				select {
				case p.seen <- struct{}{}:
				default:
				}
			}
		}
	}
	p.err = p.cmd.Wait()
	close(p.done)
}

// await returns the banner value named k, waiting up to d for it.
func (p *process) await(k string, d time.Duration) (string, error) {
	deadline := time.After(d)
	for {
		p.mu.Lock()
		v, ok := p.found[k]
		p.mu.Unlock()
		if ok {
			return v, nil
		}
		select {
		case <-p.seen:
		case <-p.done:
			return "", fmt.Errorf("%s exited (%v) before printing its %s", p.name, p.err, k)
		case <-deadline:
			return "", fmt.Errorf("%s printed no %s within %v", p.name, k, d)
		}
	}
}

// kill ends the process at once, as a crash would, and waits for it.
func (p *process) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// stop asks the process to shut down, and kills it if it has not within d.
func (p *process) stop(d time.Duration) {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(d):
		p.kill()
	}
}

// childEnv is the harness's environment without TENDER_* settings, so
// that only what the harness sets configures its children, plus extra.
func childEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TENDER_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// freeAddr returns a loopback address free now. Tender is restarted on
// the same address, so the clients never need to learn a new one.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// waitReady polls url until it answers 200, ctx ends, or d passes.
func waitReady(ctx context.Context, url string, d time.Duration, p *process) error {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-p.done:
			return fmt.Errorf("%s exited (%v) before %s answered", p.name, p.err, url)
		case <-ctx.Done():
			return fmt.Errorf("%s: %s did not answer 200 within %v", p.name, url, d)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
