package pgtest

import (
	"net"
	"os"
	osexec "os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Cluster is a PostgreSQL server of one test's own, in a temporary
// directory on a free loopback port: a test may stop and start it (a
// real restart of the server process) without disturbing the shared
// cluster at COURIER_PG_URL that other tests use.
type Cluster struct {
	t    testing.TB
	bin  string // the directory of initdb, pg_ctl and postgres
	dir  string // readable by the postgres user
	port int
	asPG bool // run the binaries as the postgres user (the test runs as root)

	mu      sync.Mutex
	running bool
}

// StartCluster creates a cluster (initdb, trust authentication, no
// fsync) and starts it; it is stopped and removed when the test ends.
// The test is skipped when PostgreSQL's binaries are not installed
// (scripts/pg.sh installs them) or when it runs as root on a machine
// without a postgres user; a cluster that fails to start fails the test
// with the server's log.
func StartCluster(t testing.TB) *Cluster {
	t.Helper()
	bin := binDir()
	if bin == "" {
		t.Skip("no PostgreSQL binaries in /usr/lib/postgresql/*/bin: install postgresql (scripts/pg.sh does) to run this test")
	}
	c := &Cluster{t: t, bin: bin}
	if os.Geteuid() == 0 {
		if _, err := user.Lookup("postgres"); err != nil {
			t.Skip("running as root without a postgres user: PostgreSQL refuses to run as root")
		}
		c.asPG = true
	}
	c.makeDir()
	t.Cleanup(func() {
		c.stop("immediate")
		os.RemoveAll(c.dir)
	})
	c.run("initdb", "-D", c.data(), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync")
	c.Start()
	return c
}

// binDir returns the newest /usr/lib/postgresql/N/bin holding initdb,
// or "".
func binDir() string {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) < version(dirs[j]) })
	for i := len(dirs) - 1; i >= 0; i-- {
		if _, err := os.Stat(filepath.Join(dirs[i], "initdb")); err == nil {
			return dirs[i]
		}
	}
	return ""
}

func version(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

// makeDir creates the cluster's directory, owned by the postgres user
// when the test runs as root.
func (c *Cluster) makeDir() {
	c.t.Helper()
	dir, err := os.MkdirTemp("", "courier-pgtest-")
	if err != nil {
		c.t.Fatal(err)
	}
	c.dir = dir
	for _, d := range []string{dir, c.data(), c.sock()} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			c.t.Fatal(err)
		}
		if err := os.Chmod(d, 0o700); err != nil {
			c.t.Fatal(err)
		}
	}
	if c.asPG {
		u, err := user.Lookup("postgres")
		if err != nil {
			c.t.Fatal(err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		for _, d := range []string{dir, c.data(), c.sock()} {
			if err := os.Chown(d, uid, gid); err != nil {
				c.t.Fatalf("give %s to the postgres user: %v", d, err)
			}
		}
	}
}

func (c *Cluster) data() string { return filepath.Join(c.dir, "data") }
func (c *Cluster) sock() string { return filepath.Join(c.dir, "sock") }
func (c *Cluster) log() string  { return filepath.Join(c.dir, "server.log") }

// URL is the cluster's database URL (user postgres, database postgres,
// no TLS). It stays the same across Stop and Start.
func (c *Cluster) URL() string {
	return "postgres://postgres@" + net.JoinHostPort("127.0.0.1", strconv.Itoa(c.port)) + "/postgres?sslmode=disable"
}

// Start starts the stopped server and returns once it accepts
// connections. The first start picks a free loopback port; later ones
// reuse it, so that clients reconnect to the same URL.
func (c *Cluster) Start() {
	c.t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.running {
		return
	}
	first := c.port == 0
	for attempt := 0; ; attempt++ {
		if first {
			c.port = freePort(c.t)
		}
		opts := "-c listen_addresses=127.0.0.1 -p " + strconv.Itoa(c.port) + " -k " + c.sock() + " -c fsync=off -c max_connections=100"
		out, err := c.output("pg_ctl", "-D", c.data(), "-l", c.log(), "-w", "-t", "60", "-o", opts, "start")
		if err == nil {
			c.running = true
			return
		}
		if !first || attempt == 4 { // a taken port is the only reason to try again
			logs, _ := os.ReadFile(c.log())
			c.t.Fatalf("start PostgreSQL on port %d: %v\n%s\n%s", c.port, err, out, logs)
		}
	}
}

// Stop shuts the server down as an administrator's restart does (a
// fast shutdown: open transactions are rolled back and every client is
// disconnected) and returns once the process is gone.
func (c *Cluster) Stop() {
	c.t.Helper()
	c.stop("fast")
}

// Crash kills the server as a crash would (an immediate shutdown: no
// checkpoint; the next Start recovers from the WAL) and returns once the
// process is gone.
func (c *Cluster) Crash() {
	c.t.Helper()
	c.stop("immediate")
}

func (c *Cluster) stop(mode string) {
	c.t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.running {
		return
	}
	if out, err := c.output("pg_ctl", "-D", c.data(), "-m", mode, "-w", "-t", "60", "stop"); err != nil {
		c.t.Errorf("stop PostgreSQL (%s): %v\n%s", mode, err, out)
		return
	}
	c.running = false
}

// Log returns the server's log so far.
func (c *Cluster) Log() string {
	b, _ := os.ReadFile(c.log())
	return string(b)
}

// run runs one of the cluster's binaries and fails the test when it
// fails.
func (c *Cluster) run(name string, args ...string) {
	c.t.Helper()
	if out, err := c.output(name, args...); err != nil {
		c.t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// output runs one of the cluster's binaries, as the postgres user when
// the test runs as root, and returns its combined output.
func (c *Cluster) output(name string, args ...string) ([]byte, error) {
	path := filepath.Join(c.bin, name)
	var cmd *osexec.Cmd
	if c.asPG {
		cmd = osexec.Command("runuser", append([]string{"-u", "postgres", "--", path}, args...)...)
	} else {
		cmd = osexec.Command(path, args...)
	}
	cmd.Dir = c.dir
	return cmd.CombinedOutput()
}

// freePort returns a loopback port nothing listens on now.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
