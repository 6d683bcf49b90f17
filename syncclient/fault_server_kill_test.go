package syncclient_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/quotedprintable"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/store"
	"github.com/courierapp/courier/syncclient"
	"github.com/courierapp/courier/syncserver"
	"github.com/courierapp/courier/syncserver/servertest"
)

// serverProcess is courier-server --dev run as a child process on a fixed
// loopback port over a data dir that outlives kills.
type serverProcess struct {
	t    *testing.T
	bin  string
	data string
	addr string
	cmd  *exec.Cmd
	logs bytes.Buffer
}

// buildServer builds ./cmd/courier-server into a temp dir, with the race
// detector when this test has it.
func buildServer(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "courier-server")
	args := append(append([]string{"build"}, buildFlags...), "-o", bin, "github.com/courierapp/courier/cmd/courier-server")
	out, err := exec.Command("go", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("go build courier-server: %v\n%s", err, out)
	}
	return bin
}

// start runs the server and waits until it accepts connections.
func (p *serverProcess) start() {
	p.t.Helper()
	p.cmd = exec.Command(p.bin, "--dev", "--addr", p.addr, "--data", p.data, "--log-level", "warn")
	p.cmd.Dir = filepath.Dir(p.data)
	p.cmd.Stdout, p.cmd.Stderr = &p.logs, &p.logs
	if err := p.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	waitFor(p.t, "the server to accept connections", func() bool {
		c, err := net.DialTimeout("tcp", p.addr, 100*time.Millisecond)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
}

// kill sends SIGKILL and reaps the process.
func (p *serverProcess) kill() {
	p.t.Helper()
	if err := p.cmd.Process.Kill(); err != nil {
		p.t.Fatal(err)
	}
	_ = p.cmd.Wait()
}

var confirmLink = regexp.MustCompile(`https://[^\s"<>]*token=[A-Za-z0-9_\-]+`)

// forwardMail feeds the links of new .eml files in the dev mailbox to
// mail, as the in-process server's Mailer does.
func forwardMail(t *testing.T, dir string, mail chan<- syncserver.Message) {
	t.Helper()
	done := make(chan struct{})
	t.Cleanup(func() { close(done) })
	go func() {
		seen := map[string]bool{}
		for {
			select {
			case <-done:
				return
			case <-time.After(20 * time.Millisecond):
			}
			files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
			for _, f := range files {
				raw, err := os.ReadFile(f)
				if err != nil || seen[f] {
					continue
				}
				body, _ := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(raw)))
				if link := confirmLink.Find(body); link != nil {
					seen[f] = true
					mail <- syncserver.Message{Links: []string{string(link)}}
				}
			}
		}
	}()
}

// ackRecorder notes the op ids a store applied from the stream (the
// client saw them acknowledged) and how often each op id came.
type ackRecorder struct {
	*store.DB
	mu    *sync.Mutex
	acked map[model.ID]uint64 // op id -> seq
	dups  *[]string
}

func (r ackRecorder) ApplyServerPage(ctx context.Context, page app.ServerPage, cursor uint64) error {
	if err := r.DB.ApplyServerPage(ctx, page, cursor); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range page.Changes() {
		if c.OpID == "" {
			continue
		}
		if s, ok := r.acked[c.OpID]; ok && s != c.Seq {
			*r.dups = append(*r.dups, fmt.Sprintf("op %s at seq %d and %d", c.OpID, s, c.Seq))
		}
		r.acked[c.OpID] = c.Seq
	}
	return nil
}

// TestServerKilledMidStreamLosesNothing runs courier-server --dev as a
// child process, has two devices of one account push continuously,
// SIGKILLs the server mid-stream and starts it again on the same data.
// Every op any device saw acknowledged is applied on the server after the
// restart, both devices converge to one state equal to a fresh device's,
// every op made is applied, and no op id comes at two seqs. With
// COURIER_SOAK=1 the server is killed and restarted ten times.
func TestServerKilledMidStreamLosesNothing(t *testing.T) {
	root := t.TempDir()
	p := &serverProcess{t: t, bin: buildServer(t), data: filepath.Join(root, "data"), addr: servertest.FreeAddr(t)}
	p.start()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.kill()
		}
		if t.Failed() {
			t.Logf("server logs:\n%s", p.logs.String())
		}
	})
	mail := make(chan syncserver.Message, 4)
	forwardMail(t, filepath.Join(p.data, "mail"), mail)
	acct := servertest.NewAccountAt(t, "https://"+p.addr, filepath.Join(p.data, syncserver.DevCAFile), "kill", func(string) string {
		select {
		case m := <-mail:
			return m.Links[0]
		case <-time.After(10 * time.Second):
			t.Fatal("no confirmation email within 10 s")
			return ""
		}
	})
	// The server is another process: ask it about every op (see
	// checkAgainstFresh), so keep its log whole.
	acct.HoldCompaction(t)

	var mu sync.Mutex
	acked := map[model.ID]uint64{}
	var dups []string
	wrap := func(db *store.DB) syncclient.Store { return ackRecorder{DB: db, mu: &mu, acked: acked, dups: &dups} }
	devs := []*device{newDeviceWith(t, acct, "a", wrap), newDeviceWith(t, acct, "b", wrap)}
	ctx := context.Background()
	for _, d := range devs {
		if err := d.sync.Start(ctx); err != nil {
			t.Fatal(err)
		}
		d.run = true
	}
	nAcked := func() int { mu.Lock(); defer mu.Unlock(); return len(acked) }
	push := func(n int) {
		for i := range n {
			d := devs[i%2]
			d.apply(reqOp(model.ID(fmt.Sprintf("req-%d", i%17)), fmt.Sprintf("%s-%d-%d", d.name, len(d.ops), i)))
			if i%8 == 0 {
				time.Sleep(time.Millisecond) // let the engines push while we type
			}
		}
	}
	push(200)
	waitFor(t, "some acks before the kill", func() bool { return nAcked() > 20 })
	ackedBefore := map[model.ID]bool{}
	kills := 1
	if os.Getenv("COURIER_SOAK") == "1" {
		kills = 10
	}
	for range kills {
		push(50) // in flight when the server dies
		p.kill()
		mu.Lock()
		for id := range acked {
			ackedBefore[id] = true
		}
		mu.Unlock()
		push(100) // typed while the server is down
		p.start()
		push(100)
	}
	quiesce(t, devs)

	want, known := checkAgainstFresh(t, acct, devs, func(ids []model.ID) map[model.ID]bool { return acct.Applied(t, ids) })
	for id := range ackedBefore {
		if !known[id] {
			t.Errorf("op %s was acknowledged before the kill but is not on the server after the restart", id)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for _, d := range dups {
		t.Errorf("applied twice: %s", d)
	}
	if len(ackedBefore) == 0 || len(want) == 0 {
		t.Errorf("nothing acknowledged before the kill (%d) or nothing synced (%d)", len(ackedBefore), len(want))
	}
	t.Logf("%d ops acknowledged before the kill, %d applied on the server", len(ackedBefore), len(known))
}
