package ui

import (
	"context"
	"testing"

	"fyne.io/fyne/v2/test"
)

func TestTheTopBarShowsTheActiveEnvironmentAtStart(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	env, err := h.core.CreateEnvironment(ctx, "Local")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.core.SetActiveEnvironment(ctx, env.ID); err != nil {
		t.Fatal(err)
	}
	mw := newMainWindow(test.NewTempApp(t), h.core, h.loop.do)
	defer mw.win.Close()
	h.loop.until(t, "the selector shows Local", func() bool { return mw.top.env.Selected == "Local" })
}
