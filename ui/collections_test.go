package ui

import (
	"context"
	"testing"

	"fyne.io/fyne/v2/test"

	"github.com/courierapp/courier/model"
)

func TestTappingARequestInTheTreeOpensItOnce(t *testing.T) {
	h := newHarness(t)
	h.mw.ShowPanel("Collections")
	ctx := context.Background()
	c, err := h.core.CreateCollection(ctx, "Users API")
	if err != nil {
		t.Fatal(err)
	}
	r, err := h.core.SaveRequest(ctx, model.Request{Name: "List users", Method: "GET", URL: "https://example.org/users", Collection: c.ID})
	if err != nil {
		t.Fatal(err)
	}
	h.loop.until(t, "the request shows", func() bool { _, ok := h.findNode("List users"); return ok })
	item := newTreeItem(h.mw.collections.onItemTapped, nil)
	item.Set(string(r.ID), "GET", "List users", model.KindRequest)
	test.Tap(item)
	h.loop.until(t, "a tab opens", func() bool { return h.tab().editor.url.Text == r.URL })
	h.mw.tabs.Select(h.mw.open[0].item)
	test.Tap(item)
	h.loop.until(t, "its tab is selected again", func() bool { return h.tab().editor.url.Text == r.URL })
	h.loop.settle()
	if len(h.mw.open) != 2 {
		t.Errorf("%d tabs open after opening the request twice, want the empty one and the request", len(h.mw.open))
	}
}

func TestCollectionMenuActions(t *testing.T) {
	h := newHarness(t)
	p := h.mw.collections
	p.createCollection("API")
	h.loop.until(t, "the collection", func() bool { _, ok := h.findNode("API"); return ok })
	api, _ := h.findNode("API")
	p.createFolder(api.ID, "Users")
	h.loop.until(t, "the folder", func() bool { _, ok := h.findNode("Users"); return ok })
	p.newRequest(api.ID, api.ID)
	h.loop.until(t, "the new request", func() bool { _, ok := h.findNode("New request"); return ok })
	req, _ := h.findNode("New request")
	h.loop.until(t, "the new request opens in a tab", func() bool { return h.tab().editor.req.ID == req.ID })

	p.move(req, req.Parent, 0) // Move up, above the folder
	h.loop.until(t, "the request moves up", func() bool { n, _ := h.findNode("New request"); return n.Index == 0 })
	p.rename(req, "Get user")
	h.loop.until(t, "the rename", func() bool { _, ok := h.findNode("Get user"); return ok })
	req, _ = h.findNode("Get user")
	users, _ := h.findNode("Users")
	p.move(req, users.ID, -1) // Move to… the folder
	h.loop.until(t, "the move into the folder", func() bool { n, _ := h.findNode("Get user"); return n.Parent == users.ID })
	p.duplicate(users)
	h.loop.until(t, "the copy", func() bool { _, ok := h.findNode("Users copy"); return ok })
	copyNode, _ := h.findNode("Users copy")
	p.delete(copyNode)
	h.loop.until(t, "the delete", func() bool { _, ok := h.findNode("Users copy"); return !ok })
	if _, ok := h.findNode("Get user"); !ok {
		t.Error("deleting the copy deleted the original's request")
	}

	items := p.menuItems(string(req.ID))
	var labels []string
	for _, it := range items {
		labels = append(labels, it.Label)
	}
	want := map[string]bool{"Rename…": true, "Duplicate": true, "Move up": true, "Move down": true, "Move to…": true, "Delete…": true}
	for _, l := range labels {
		delete(want, l)
	}
	if len(want) != 0 {
		t.Errorf("a request's menu %v lacks %v", labels, want)
	}
}
