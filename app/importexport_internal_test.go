package app

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/courierapp/courier/postman"
)

func TestBundleOpsMatchesBundleOpsInOrder(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"info":{"name":"C"},"item":[`)
	for i := range 103 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"name":"F%d","item":[{"name":"R%d","request":{"method":"POST","url":"https://x/%d","body":{"mode":"raw","raw":"%d"}}}]}`, i, i, i, i)
	}
	b.WriteString(`],"variable":[{"key":"k","value":"v"}]}`)
	bun, err := postman.Import(context.Background(), strings.NewReader(b.String()), postman.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want, err := bun.Ops()
	if err != nil {
		t.Fatal(err)
	}
	got, err := bundleOps(bun)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d ops, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Kind != w.Kind || g.ID != w.ID || len(g.Fields) != len(w.Fields) {
			t.Fatalf("op %d: %s %s, want %s %s", i, g.Kind, g.ID, w.Kind, w.ID)
		}
		for f, v := range w.Fields {
			if !bytes.Equal(g.Fields[f], v) {
				t.Fatalf("op %d field %s: %s, want %s", i, f, g.Fields[f], v)
			}
		}
	}
}
