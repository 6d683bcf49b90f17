package ui

import (
	"context"
	"testing"

	"github.com/courierapp/courier/model"
)

func TestSelectingAnEnvironmentShowsItsVariablesWithSecretsMasked(t *testing.T) {
	h := newHarness(t)
	h.mw.ShowPanel("Environments")
	ctx := context.Background()
	env, err := h.core.CreateEnvironment(ctx, "Local")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []model.Variable{
		{Owner: env.ID, Name: "base", Value: "http://127.0.0.1", Enabled: true},
		{Owner: env.ID, Name: "token", Value: "s3cret", Enabled: true, Secret: true},
	} {
		if _, err := h.core.SaveVariable(ctx, v); err != nil {
			t.Fatal(err)
		}
	}
	h.loop.until(t, "the environment is listed", func() bool { return h.mw.envs.length() == 2 })
	h.mw.envs.list.Select(1)
	h.loop.until(t, "its variables show", func() bool { return h.mw.envs.title.Text == "Local" && len(h.mw.envs.data.Vars) == 2 })
	secret := h.mw.envs.vars.Objects[2]
	var masked bool
	walk(secret, func(o any) {
		if e, ok := o.(*varEntry); ok && e.Text == "s3cret" {
			masked = e.Password
		}
	})
	if !masked {
		t.Error("the secret variable's value is not masked")
	}
}
