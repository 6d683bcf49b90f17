//go:build xvfb

package smoke

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"image"
	_ "image/png"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// proc is a started process whose exit is awaited once, in the background.
type proc struct {
	cmd    *exec.Cmd
	exited chan struct{}
}

func startProc(tb testing.TB, cmd *exec.Cmd) *proc {
	tb.Helper()
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start %s: %v", cmd.Path, err)
	}
	p := &proc{cmd: cmd, exited: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.exited) }()
	tb.Cleanup(p.stop)
	return p
}

// stop ends the process: an interrupt, then a kill after a grace period.
func (p *proc) stop() {
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.exited:
	case <-time.After(3 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// display is a private X server (and session bus) for one test.
type display struct {
	name string
	bus  string
}

// startXvfb starts Xvfb on a free display and stops it when the test ends.
func startXvfb(tb testing.TB) *display {
	tb.Helper()
	for _, tool := range []string{"Xvfb", "xdotool", "import", "xdpyinfo"} {
		if _, err := exec.LookPath(tool); err != nil {
			tb.Skipf("%s is not installed (apt-get install xvfb xdotool imagemagick x11-utils): %v", tool, err)
		}
	}
	// A display is free only when neither its lock file, its socket file
	// nor its abstract socket exists: Xvfb checks the lock file alone, and
	// X clients try the abstract socket first, so an X server of another
	// mount namespace on the same number would take our clients.
	first := 40 + os.Getpid()%40
	for i := range 60 {
		n := first + i
		if !displayFree(n) {
			continue
		}
		name := fmt.Sprintf(":%d", n)
		var log bytes.Buffer
		// -noreset: by default an X server resets when its last client
		// leaves (the display check, a program just stopped), and a
		// program connecting during the reset cannot open the display.
		cmd := exec.Command("Xvfb", name, "-screen", "0", "1440x900x24", "-nolisten", "tcp", "-noreset")
		cmd.Stdout, cmd.Stderr = &log, &log
		p := startProc(tb, cmd)
		d := &display{name: name}
		// Ask with exactly the environment the programs under test get.
		env := d.env(tb.TempDir())
		up := waitUntil(10*time.Second, func() bool {
			select {
			case <-p.exited:
				return true
			default:
			}
			q := exec.Command("xdpyinfo", "-display", name)
			q.Env = env
			return q.Run() == nil
		})
		select {
		case <-p.exited:
			tb.Logf("Xvfb %s exited (%s); trying another display", name, strings.TrimSpace(log.String()))
			continue
		default:
		}
		if !up {
			tb.Fatalf("Xvfb display %s does not answer within 10s:\n%s", name, log.String())
		}
		d.bus = startBus(tb)
		return d
	}
	tb.Fatal("found no free X display")
	return nil
}

// displayFree reports whether X display n looks unused on this machine.
func displayFree(n int) bool {
	for _, f := range []string{fmt.Sprintf("/tmp/.X%d-lock", n), fmt.Sprintf("/tmp/.X11-unix/X%d", n)} {
		if _, err := os.Stat(f); err == nil {
			return false
		}
	}
	c, err := net.DialTimeout("unix", fmt.Sprintf("@/tmp/.X11-unix/X%d", n), time.Second)
	if err == nil {
		c.Close()
		return false
	}
	return true
}

// startBus starts a private session bus, so nothing the app does starts a
// stray one; "" when dbus-daemon is not installed.
func startBus(tb testing.TB) string {
	tb.Helper()
	if _, err := exec.LookPath("dbus-daemon"); err != nil {
		return ""
	}
	cmd := exec.Command("dbus-daemon", "--session", "--nofork", "--print-address=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	startProc(tb, cmd)
	addr, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		tb.Fatalf("read the bus address: %v", err)
	}
	return strings.TrimSpace(addr)
}

// env returns the environment a program on this display runs with.
func (d *display) env(home string) []string {
	env := []string{
		"DISPLAY=" + d.name, "LANG=en_US.UTF-8", "PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
		"XDG_CONFIG_HOME=" + filepath.Join(home, "config"), "XDG_CACHE_HOME=" + filepath.Join(home, "cache"),
		"XDG_DATA_HOME=" + filepath.Join(home, "data"),
	}
	if d.bus != "" {
		env = append(env, "DBUS_SESSION_BUS_ADDRESS="+d.bus)
	}
	return env
}

// launch is one run of a program until its window is mapped.
type launch struct {
	*proc
	started time.Time
	window  string
	mapped  time.Duration // from exec to the window being viewable
	output  *bytes.Buffer
}

// startWindow runs bin (with args) on d and waits for a visible window
// whose name is exactly title.
func startWindow(tb testing.TB, d *display, home, title, bin string, args ...string) *launch {
	tb.Helper()
	l := &launch{output: &bytes.Buffer{}}
	cmd := exec.Command(bin, args...)
	cmd.Env = d.env(home)
	cmd.Stdout, cmd.Stderr = l.output, l.output
	t0 := time.Now()
	l.started = t0
	l.proc = startProc(tb, cmd)
	ok := waitUntil(30*time.Second, func() bool {
		select {
		case <-l.exited:
			return true
		default:
		}
		search := exec.Command("xdotool", "search", "--onlyvisible", "--name", "^"+title+"$")
		search.Env = append(os.Environ(), "DISPLAY="+d.name)
		out, _ := search.Output()
		l.window = strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])
		return l.window != ""
	})
	l.mapped = time.Since(t0)
	if !ok || l.window == "" {
		tb.Fatalf("no window %q appeared within 30s; %s said:\n%s", title, filepath.Base(bin), l.output.String())
	}
	return l
}

// peakRSS returns the process's peak resident set size in bytes (VmHWM).
func (l *launch) peakRSS(tb testing.TB) int64 {
	tb.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", l.cmd.Process.Pid))
	if err != nil {
		tb.Fatalf("read process status: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				tb.Fatalf("parse %q: %v", line, err)
			}
			return kb << 10
		}
	}
	tb.Fatal("no VmHWM in /proc status")
	return 0
}

// screenshot saves the whole screen of d as a PNG and decodes it.
func screenshot(tb testing.TB, d *display, path string) image.Image {
	tb.Helper()
	cmd := exec.Command("import", "-display", d.name, "-window", "root", path)
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("import: %v: %s", err, out)
	}
	return decodePNG(tb, path)
}

func decodePNG(tb testing.TB, path string) image.Image {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		tb.Fatalf("decode %s: %v", path, err)
	}
	return img
}

// screenshotWindow saves one window of d as a PNG and decodes it.
func screenshotWindow(tb testing.TB, d *display, window, path string) image.Image {
	tb.Helper()
	cmd := exec.Command("import", "-display", d.name, "-window", window, path)
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("import: %v: %s", err, out)
	}
	return decodePNG(tb, path)
}

// colours counts the distinct colours of img.
func colours(img image.Image) int {
	seen := map[[3]uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			seen[[3]uint32{r >> 8, g >> 8, bl >> 8}] = true
		}
	}
	return len(seen)
}

// waitUntil polls cond until it holds or the timeout passes.
func waitUntil(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return cond()
}

// build compiles the package at pkg (relative to the module root) into dir.
func build(tb testing.TB, dir, pkg string) string {
	tb.Helper()
	root := moduleRoot(tb)
	out := filepath.Join(dir, filepath.Base(pkg))
	cmd := exec.CommandContext(context.Background(), "go", "build", "-tags", "migrated_fynedo", "-o", out, "./"+pkg)
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("go build ./%s: %v\n%s", pkg, err, b)
	}
	return out
}

func moduleRoot(tb testing.TB) string {
	tb.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil || strings.TrimSpace(string(out)) == "" {
		tb.Fatalf("find the module root: %v", err)
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}
