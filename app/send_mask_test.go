package app_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/model"
)

func TestHistoryKeepsTheResolvedURLWithSecretsMasked(t *testing.T) {
	ctx := context.Background()
	srv := echoServer(t)
	tests := []struct {
		name, url string
		vars      []model.Variable // Owner "env" means the active environment
		want      string           // "<srv>" stands for the server's URL
		secrets   []string         // must not appear in the stored request
	}{
		{"a secret in the path", "{{base}}/echo/{{token}}?q=1",
			[]model.Variable{{Owner: "env", Name: "token", Value: "tok-8812", Secret: true}},
			"<srv>/echo/{{token}}?q=1", []string{"tok-8812"}},
		{"a secret in the query, escaped on the wire", "{{base}}/echo?key={{key}}&user={{user}}",
			[]model.Variable{{Owner: "env", Name: "key", Value: "a b&c=d", Secret: true}, {Owner: "env", Name: "user", Value: "ann"}},
			"<srv>/echo?key={{key}}&user=ann", []string{"a b&c=d", "a+b%26c%3Dd", "a%20b%26c=d"}},
		{"a global secret and one made of another variable", "{{base}}/echo?t={{bearer}}",
			[]model.Variable{{Owner: model.GlobalsID, Name: "pw", Value: "pw-3381", Secret: true}, {Owner: "env", Name: "bearer", Value: "x-{{pw}}", Secret: true}},
			"<srv>/echo?t={{bearer}}", []string{"pw-3381"}},
		{"a secret the environment shadows is not masked", "{{base}}/echo?u={{user}}",
			[]model.Variable{{Owner: model.GlobalsID, Name: "user", Value: "root-global", Secret: true}, {Owner: "env", Name: "user", Value: "bob"}},
			"<srv>/echo?u=bob", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, _ := newApp(t, app.Options{})
			env := must[model.Environment](t)(a.CreateEnvironment(ctx, "local"))
			vars := append([]model.Variable{{Owner: "env", Name: "base", Value: srv.URL}}, tt.vars...)
			for _, v := range vars {
				if v.Owner == "env" {
					v.Owner = env.ID
				}
				v.Enabled = true
				must[model.Variable](t)(a.SaveVariable(ctx, v))
			}
			if err := a.SetActiveEnvironment(ctx, env.ID); err != nil {
				t.Fatal(err)
			}
			res, err := a.Send(ctx, model.Request{Method: "GET", URL: tt.url})
			if err != nil || res.HistoryErr != nil {
				t.Fatalf("Send = %v, history %v", err, res.HistoryErr)
			}
			e := must[model.HistoryEntry](t)(a.HistoryEntry(ctx, res.HistoryID))
			if want := strings.ReplaceAll(tt.want, "<srv>", srv.URL); e.Request.ResolvedURL != want {
				t.Errorf("history ResolvedURL = %q; want %q", e.Request.ResolvedURL, want)
			}
			stored, _ := json.Marshal(e.Request)
			for _, s := range tt.secrets {
				if strings.Contains(string(stored), s) {
					t.Errorf("the stored request holds the secret %q: %s", s, stored)
				}
			}
		})
	}
}

func TestAFailedSendKeepsItsURLWithSecretsMasked(t *testing.T) {
	ctx := context.Background()
	addr := closedAddr(t)
	a, _ := newApp(t, app.Options{})
	must[model.Variable](t)(a.SaveVariable(ctx, model.Variable{Owner: model.GlobalsID, Name: "token", Value: "tok-4471", Enabled: true, Secret: true}))
	if _, err := a.Send(ctx, model.Request{URL: "http://" + addr + "/x/{{token}}"}); err == nil {
		t.Fatal("Send to a closed port succeeded")
	}
	hs := must[[]model.HistorySummary](t)(a.History(ctx, app.HistoryQuery{}))
	if len(hs) != 1 {
		t.Fatalf("history = %+v", hs)
	}
	e := must[model.HistoryEntry](t)(a.HistoryEntry(ctx, hs[0].ID))
	if want := "http://" + addr + "/x/{{token}}"; e.Request.ResolvedURL != want {
		t.Errorf("ResolvedURL of a failed send = %q; want %q", e.Request.ResolvedURL, want)
	}
}
