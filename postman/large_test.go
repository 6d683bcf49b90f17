package postman

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"syscall"
	"testing"
	"time"
)

// genCollection writes a v2.1 collection of n requests, 50 to a folder,
// each about 2 KB (headers, a JSON body, a URL object, a test script).
func genCollection(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"info":{"_postman_id":"00000000-0000-4000-8000-000000000000","name":"Generated","schema":"https://schema.getpostman.com/json/collection/v2.1.0/collection.json"},"item":[`)
	payload := strings.Repeat("lorem ipsum dolor sit amet ", 52)
	for f := 0; f*50 < n; f++ {
		if f > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"name":"Folder %d","item":[`, f)
		for i := f * 50; i < min(n, (f+1)*50); i++ {
			if i > f*50 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"name":"Request %d","event":[{"listen":"test","script":{"exec":["pm.test(\"ok\", function () {","  pm.response.to.have.status(200);","});"],"type":"text/javascript"}}],`+
				`"request":{"method":"POST","header":[{"key":"Content-Type","value":"application/json"},{"key":"X-Request","value":"%d"},{"key":"X-Off","value":"1","disabled":true}],`+
				`"body":{"mode":"raw","raw":"{\"id\": %d, \"text\": \"%s\"}","options":{"raw":{"language":"json"}}},`+
				`"url":{"raw":"{{baseUrl}}/items/%d?verbose=true","host":["{{baseUrl}}"],"path":["items","%d"],"query":[{"key":"verbose","value":"true"}]},`+
				`"description":"Request number %d."},"response":[]}`, i, i, i, payload, i, i, i)
		}
		b.WriteString(`]}`)
	}
	b.WriteString(`],"variable":[{"key":"baseUrl","value":"https://example.com"}]}`)
	return b.Bytes()
}

func TestLargeFileReportsProgressAndRoundTrips(t *testing.T) {
	if testing.Short() {
		t.Skip("large file: skipped with -short")
	}
	n := 25_000 // about 50 MB
	if raceEnabled {
		n = 5_000 // about 10 MB: the race detector makes 50 MB take minutes
	}
	data := genCollection(n)
	if len(data) < n*1900 {
		t.Fatalf("generated only %d bytes", len(data))
	}
	var calls int
	var last int64
	b, err := Import(context.Background(), bytes.NewReader(data), Options{Progress: func(read int64) {
		if read < last {
			t.Errorf("progress went back from %d to %d", last, read)
		}
		calls++
		last = read
	}})
	if err != nil {
		t.Fatal(err)
	}
	if last != int64(len(data)) || calls < 10 {
		t.Errorf("progress: %d calls, last %d of %d bytes", calls, last, len(data))
	}
	if len(b.Requests) != n || len(b.Folders) != n/50 {
		t.Fatalf("%d requests, %d folders", len(b.Requests), len(b.Folders))
	}
	out, err := ExportCollection(b.Collections[0], b.Folders, b.Requests, b.Variables)
	if err != nil {
		t.Fatal(err)
	}
	var a, c any
	if json.Unmarshal(data, &a) != nil || json.Unmarshal(out, &c) != nil {
		t.Fatal("not JSON")
	}
	if _, same := firstDiff(a, c, "$"); !same {
		t.Error("large export differs from the original")
	}
}

// cancelAfter is a reader that cancels ctx once n bytes have been read.
type cancelAfter struct {
	r      io.Reader
	n      int
	read   int
	cancel context.CancelFunc
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.read += n
	if c.read >= c.n {
		c.cancel()
	}
	return n, err
}

func TestImportStopsWhenCancelled(t *testing.T) {
	data := genCollection(5_000)
	t.Run("while reading", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		r := &cancelAfter{r: bytes.NewReader(data), n: 1 << 20, cancel: cancel}
		b, err := Import(ctx, r, Options{})
		if b != nil || !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, %v; want context.Canceled and no bundle", b, err)
		}
		if r.read > 2<<20 {
			t.Errorf("read %d bytes after the cancel at 1 MiB", r.read)
		}
	})
	t.Run("while decoding", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		start := time.Now()
		b, err := importBytes(ctx, data, Options{})
		if b != nil || !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, %v; want context.Canceled and no bundle", b, err)
		}
		full := time.Now()
		if _, err := importBytes(context.Background(), data, Options{}); err != nil {
			t.Fatal(err)
		}
		if stopped, whole := full.Sub(start), time.Since(full); stopped > whole/2 {
			t.Errorf("cancelled decode took %v, a whole one %v", stopped, whole)
		}
	})
	t.Run("too large", func(t *testing.T) {
		_, err := Import(context.Background(), bytes.NewReader(data), Options{MaxSize: 1 << 20})
		if err == nil || !strings.Contains(err.Error(), "larger than") {
			t.Fatalf("err = %v", err)
		}
	})
}

// BenchmarkPostman5000 imports and exports a generated collection of
// 5,000 requests (about 10 MB). The baselines do the same work with
// encoding/json and map[string]any: Unmarshal for import, Marshal for
// export, both for the round trip.
func BenchmarkPostman5000(b *testing.B) {
	data := genCollection(5_000)
	bundle, err := Import(context.Background(), bytes.NewReader(data), Options{})
	if err != nil {
		b.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		b.Fatal(err)
	}
	courierImport := func(b *testing.B) *Bundle {
		bun, err := Import(context.Background(), bytes.NewReader(data), Options{})
		if err != nil {
			b.Fatal(err)
		}
		return bun
	}
	courierExport := func(b *testing.B, bun *Bundle) {
		if _, err := ExportCollection(bun.Collections[0], bun.Folders, bun.Requests, bun.Variables); err != nil {
			b.Fatal(err)
		}
	}
	baseImport := func(b *testing.B) map[string]any {
		var v map[string]any
		if err := json.Unmarshal(data, &v); err != nil {
			b.Fatal(err)
		}
		return v
	}
	baseExport := func(b *testing.B, v map[string]any) {
		if _, err := json.Marshal(v); err != nil {
			b.Fatal(err)
		}
	}
	bench := func(name string, f func(b *testing.B)) {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			cpu0 := cpuTime()
			n := 0
			for b.Loop() {
				f(b)
				n++
			}
			// On a shared machine wall time depends on the neighbours;
			// CPU time per op (all threads, GC included) does much less.
			b.ReportMetric(float64((cpuTime()-cpu0).Milliseconds())/float64(n), "cpu-ms/op")
			b.ReportMetric(float64(len(data))/1e6, "MB/file")
		})
	}
	bench("import/courier", func(b *testing.B) { courierImport(b) })
	bench("import/baseline", func(b *testing.B) { baseImport(b) })
	bench("export/courier", func(b *testing.B) { courierExport(b, bundle) })
	bench("export/baseline", func(b *testing.B) { baseExport(b, m) })
	bench("roundtrip/courier", func(b *testing.B) { courierExport(b, courierImport(b)) })
	bench("roundtrip/baseline", func(b *testing.B) { baseExport(b, baseImport(b)) })
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
