package ui

import (
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/syncproto"
)

func TestOIDCSettingsListIdentitiesAndLink(t *testing.T) {
	github := syncproto.OIDCProviderInfo{Name: "github", DisplayName: "GitHub"}
	h := newOIDCHarness(t, googleProvider, github)
	h.acc.account = app.Account{AccountID: "acc1", Username: "ada", Email: "ada@example.com", ServerURL: "https://s.example", SignedIn: true}
	h.acc.set(func(o *fakeOIDC) {
		o.identities = []syncproto.OIDCIdentity{{Provider: "github", Email: "ada@github.example"}}
	})
	h.syncer.set(app.SyncStatus{State: app.SyncInSync})
	h.mw.showSettings()
	a := h.ui()
	h.loop.until(t, "the providers show", func() bool { return a.settings != nil && a.settings.oidc.box.Visible() })
	o := a.settings.oidc
	if !strings.Contains(o.linked.Text, "Signs in with GitHub (ada@github.example)") {
		t.Fatalf("linked identities %q", o.linked.Text)
	}
	if len(o.links) != 1 || o.links[0].Text != "Link Google" {
		t.Fatalf("link buttons %v, want only Link Google", o.links)
	}
	test.Tap(o.links[0])
	h.loop.until(t, "Google is linked", func() bool {
		h.acc.mu.Lock()
		defer h.acc.mu.Unlock()
		return len(h.acc.oidc.linked) == 1
	})
	h.loop.until(t, "the link form closes", func() bool { return a.oidcLink.closed })
	if h.acc.oidc.linked[0] != "google" || a.oidcLink.Error() != "" {
		t.Fatalf("linked %v, error %q", h.acc.oidc.linked, a.oidcLink.Error())
	}
}

func TestOIDCSettingsHiddenWithoutProviders(t *testing.T) {
	h := newOIDCHarness(t)
	h.acc.account = app.Account{AccountID: "acc1", Username: "ada", ServerURL: "https://s.example", SignedIn: true}
	h.syncer.set(app.SyncStatus{State: app.SyncInSync})
	h.mw.showSettings()
	a := h.ui()
	h.loop.until(t, "the providers are fetched", func() bool { return h.acc.called("OIDCProviders") > 0 })
	h.loop.settle()
	if a.settings.oidc.box.Visible() || h.acc.called("OIDCIdentities") != 0 {
		t.Fatal("the provider section shows without providers")
	}
}
