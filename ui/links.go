package ui

import (
	"context"
	"fmt"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/courierapp/courier/app"
)

// linksDialog lists the account's collection links, each with Copy and
// Revoke.
type linksDialog struct {
	links LinkSharer
	win   fyne.Window
	bg    *tasks
	rows  *fyne.Container
	dlg   dialog.Dialog
}

func newLinksDialog(win fyne.Window, bg *tasks, links LinkSharer) *linksDialog {
	return &linksDialog{links: links, win: win, bg: bg, rows: container.NewVBox(widget.NewLabel("Loading…"))}
}

// Show opens the dialog and loads the list.
func (d *linksDialog) Show() {
	scroll := container.NewVScroll(d.rows)
	scroll.SetMinSize(fyne.NewSize(640, 320))
	d.dlg = dialog.NewCustom("My links", "Close", scroll, d.win)
	d.dlg.Show()
	d.reload()
}

func (d *linksDialog) reload() {
	d.bg.Go(func() func() {
		ls, err := d.links.List(context.Background())
		return func() { d.showList(ls, err) }
	})
}

func (d *linksDialog) showList(ls []app.Link, err error) {
	d.rows.RemoveAll()
	switch {
	case err != nil:
		d.rows.Add(widget.NewLabel(humanError("list your links", err).Error()))
	case len(ls) == 0:
		d.rows.Add(widget.NewLabel("No links yet: share a collection from its menu in the sidebar."))
	}
	now := time.Now()
	for _, l := range ls {
		d.rows.Add(d.row(l, now))
	}
	d.rows.Refresh()
}

// row shows one link: name, state, URL, and its actions.
func (d *linksDialog) row(l app.Link, now time.Time) fyne.CanvasObject {
	state := "never expires"
	if !l.ExpiresAt.IsZero() {
		state = "expires " + l.ExpiresAt.Local().Format("2006-01-02 15:04")
		if l.Expired(now) {
			state = "expired " + l.ExpiresAt.Local().Format("2006-01-02 15:04")
		}
	}
	title := widget.NewLabelWithStyle(l.Name, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	u := l.URL
	if u == "" {
		u = "(URL shown on the device that created it)"
	}
	info := widget.NewLabel(fmt.Sprintf("%s · %s · %d KiB\n%s", state, "updated "+l.UpdatedAt.Local().Format("2006-01-02 15:04"), (l.Size+1023)/1024, u))
	info.Wrapping = fyne.TextWrapBreak
	copyBtn := widget.NewButton("Copy URL", func() { fyne.CurrentApp().Clipboard().SetContent(l.URL) })
	if l.URL == "" {
		copyBtn.Disable()
	}
	revoke := widget.NewButton("Revoke…", func() { d.onRevokeTapped(l) })
	revoke.Importance = widget.DangerImportance
	return container.NewBorder(nil, widget.NewSeparator(), nil, container.NewHBox(copyBtn, revoke), container.NewVBox(title, info))
}

func (d *linksDialog) onRevokeTapped(l app.Link) {
	dialog.ShowConfirm("Revoke link", "Revoke the link of "+l.Name+"? Its URL stops working for everyone.", func(ok bool) {
		if !ok {
			return
		}
		d.bg.Go(func() func() {
			err := d.links.Revoke(context.Background(), l.ID)
			return func() {
				if err != nil {
					showError(d.win, "revoke the link", err)
				}
				d.reload()
			}
		})
	}, d.win)
}

// linksMenuItems is the account menu's My links entry, when the core
// reaches links.
func (b *topBar) linksMenuItems() []*fyne.MenuItem {
	lc, ok := b.core.(linksCore)
	if !ok {
		return nil
	}
	return []*fyne.MenuItem{fyne.NewMenuItem("My links…", func() {
		links := lc.Links()
		if links == nil {
			dialog.ShowInformation("My links", "Collection links need a signed-in account.", b.win)
			return
		}
		newLinksDialog(b.win, b.bg, links).Show()
	})}
}
