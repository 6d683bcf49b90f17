package servertest_test

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"strings"
	"testing"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncproto"
	"github.com/courierapp/courier/syncserver/servertest"
)

func TestAnAccountSignsInAgainAfterARestart(t *testing.T) {
	srv := servertest.Start(t, servertest.Options{})
	acct := srv.NewAccount(t, "ann")
	c := srv.Client(t)
	ctx := context.Background()
	info, err := c.WithToken(acct.Login(t)).Account(ctx)
	if err != nil || !info.EmailConfirmed {
		t.Fatalf("account before the restart = %+v, %v", info, err)
	}
	srv.Restart(t)
	if _, err := c.WithToken(acct.Login(t)).Account(ctx); err != nil {
		t.Fatalf("account after the restart: %v", err)
	}
	if _, err := c.WithToken("not-a-token").Account(ctx); !errors.Is(err, model.ErrUnauthorized) {
		t.Fatalf("a bad token: err = %v, want ErrUnauthorized", err)
	}
	if srv.Storage() == nil {
		t.Fatal("no storage after the restart")
	}
	api, err := srv.Dial(t)(srv.URL, acct.Login(t))
	if err != nil {
		t.Fatal(err)
	}
	if ss, err := api.Sessions(ctx); err != nil || len(ss) != 3 || !ss[2].Current {
		t.Fatalf("sessions through Dial = %+v, %v; want the three logins, the last current", ss, err)
	}
}

func TestOIDCOptionListsTheMockProvider(t *testing.T) {
	srv := servertest.Start(t, servertest.Options{OIDC: true})
	if srv.OIDC == nil {
		t.Fatal("no mockoidc provider")
	}
	got, err := srv.Client(t).OIDCProviders(context.Background())
	if err != nil || len(got) != 1 || got[0] != (syncproto.OIDCProviderInfo{Name: "mock", DisplayName: "Mock"}) {
		t.Fatalf("providers = %+v, %v", got, err)
	}
	if plain := servertest.Start(t, servertest.Options{}); plain.OIDC != nil {
		t.Fatal("a provider without Options.OIDC")
	}
}

type lister map[model.Kind][]model.Record

func (l lister) List(_ context.Context, k model.Kind) ([]model.Record, error) { return l[k], nil }

func TestStateComparesVisibleRecords(t *testing.T) {
	rec := func(id, name string) model.Record {
		return model.Record{ID: model.ID(id), Fields: model.Fields{"name": json.RawMessage(`"` + name + `"`)}}
	}
	a := servertest.State(t, lister{model.KindRequest: {rec("r1", "one")}})
	b := servertest.State(t, lister{model.KindRequest: {rec("r1", "two")}, model.KindFolder: {rec("f1", "x")}})
	if !maps.Equal(a, servertest.State(t, lister{model.KindRequest: {rec("r1", "one")}})) {
		t.Fatal("the same records give different states")
	}
	diff := servertest.StateDiff(a, b)
	if !strings.Contains(diff, `request/r1: got {"name":"one"}, want {"name":"two"}`) || !strings.Contains(diff, "folder/f1: got , want") {
		t.Fatalf("diff = %q", diff)
	}
	if d := servertest.StateDiff(a, a); d != "" {
		t.Fatalf("diff of equal states = %q", d)
	}
}
