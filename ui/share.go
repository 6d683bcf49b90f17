package ui

import (
	"context"
	"fmt"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/model"
)

// LinkSharer is what the Share and My links dialogs call; app.Links
// implements it.
type LinkSharer interface {
	Draft(ctx context.Context, id model.ID) (app.LinkDraft, error)
	Create(ctx context.Context, d app.LinkDraft, ttl time.Duration) (app.Link, error)
	DraftUpdate(ctx context.Context, id string) (app.LinkDraft, error)
	Update(ctx context.Context, id string, d app.LinkDraft) (app.Link, error)
	SetExpiry(ctx context.Context, id string, ttl time.Duration) (app.Link, error)
	Revoke(ctx context.Context, id string) error
	List(ctx context.Context) ([]app.Link, error)
}

var _ LinkSharer = (*app.Links)(nil)

// linksCore is a core that reaches collection links: the wiring gives one
// when accounts are available. Links returns nil while no account is
// signed in... the dialogs then say so.
type linksCore interface{ Links() LinkSharer }

// expiryChoices are the Share dialog's expiry options, in order.
var expiryChoices = []struct {
	label string
	ttl   time.Duration
}{
	{"Never expires", 0},
	{"Expires in 1 hour", time.Hour},
	{"Expires in 1 day", 24 * time.Hour},
	{"Expires in 7 days", 7 * 24 * time.Hour},
	{"Expires in 30 days", 30 * 24 * time.Hour},
}

// shareDialog publishes one collection as a link and manages that link:
// copy its URL, re-publish, change the expiry, revoke.
type shareDialog struct {
	links LinkSharer
	win   fyne.Window
	bg    *tasks
	coll  model.Collection
	link  *app.Link // the collection's link, once known

	expiry                          *widget.Select
	url                             *dialogEntry
	status                          *widget.Label
	create, copyURL, update, revoke *widget.Button
	dlg                             dialog.Dialog
}

func newShareDialog(win fyne.Window, bg *tasks, links LinkSharer, coll model.Collection) *shareDialog {
	d := &shareDialog{links: links, win: win, bg: bg, coll: coll}
	labels := make([]string, len(expiryChoices))
	for i, c := range expiryChoices {
		labels[i] = c.label
	}
	d.expiry = widget.NewSelect(labels, d.onExpiryChanged)
	d.expiry.SetSelectedIndex(0)
	d.url = newDialogEntry(win)
	d.url.SetPlaceHolder("The public URL appears here")
	d.url.Disable()
	d.status = widget.NewLabel("Anyone with the link can read this collection. Secret variables are left out.")
	d.status.Wrapping = fyne.TextWrapWord
	d.create = widget.NewButton("Create link", d.onCreateTapped)
	d.create.Importance = widget.HighImportance
	d.copyURL = widget.NewButton("Copy", d.onCopyTapped)
	d.update = widget.NewButton("Update to current state", d.onUpdateTapped)
	d.revoke = widget.NewButton("Revoke…", d.onRevokeTapped)
	d.revoke.Importance = widget.DangerImportance
	d.showLink(nil)
	return d
}

// content is the dialog's body.
func (d *shareDialog) content() fyne.CanvasObject {
	return container.NewVBox(d.status, d.expiry,
		container.NewBorder(nil, nil, nil, d.copyURL, d.url),
		container.NewHBox(d.create, d.update, d.revoke))
}

// Show opens the dialog and looks for the collection's existing link.
func (d *shareDialog) Show() {
	d.dlg = dialog.NewCustom("Share "+d.coll.Name, "Close", d.content(), d.win)
	d.dlg.Resize(fyne.NewSize(560, 260))
	d.dlg.Show()
	d.bg.Go(func() func() {
		ls, err := d.links.List(context.Background())
		return func() {
			if err != nil {
				d.status.SetText("Links need a signed-in account: " + humanError("list your links", err).Error())
				d.create.Disable()
				return
			}
			for i := range ls {
				if ls[i].Collection == d.coll.ID {
					d.showLink(&ls[i])
					return
				}
			}
		}
	})
}

// showLink shows l (nil: none yet) and enables what applies.
func (d *shareDialog) showLink(l *app.Link) {
	d.link = l
	if l == nil {
		d.url.SetText("")
		d.create.Enable()
		for _, b := range []*widget.Button{d.copyURL, d.update, d.revoke} {
			b.Disable()
		}
		return
	}
	d.url.SetText(l.URL)
	if l.URL == "" {
		d.url.SetPlaceHolder("Published from another device: its URL is shown there")
	}
	d.create.Disable()
	d.update.Enable()
	d.revoke.Enable()
	if l.URL != "" {
		d.copyURL.Enable()
	}
	d.status.SetText(linkStatus(*l))
}

func linkStatus(l app.Link) string {
	exp := "It never expires."
	if !l.ExpiresAt.IsZero() {
		exp = "It expires " + l.ExpiresAt.Local().Format("2006-01-02 15:04") + "."
	}
	return fmt.Sprintf("Published %s. %s Anyone with the link can read it.", l.UpdatedAt.Local().Format("2006-01-02 15:04"), exp)
}

func (d *shareDialog) ttl() time.Duration { return expiryChoices[max(d.expiry.SelectedIndex(), 0)].ttl }

// onCreateTapped drafts the snapshot, asks about credentials, publishes.
func (d *shareDialog) onCreateTapped() {
	d.create.Disable()
	d.withDraft(func(ctx context.Context) (app.LinkDraft, error) { return d.links.Draft(ctx, d.coll.ID) },
		func(draft app.LinkDraft) (app.Link, error) {
			return d.links.Create(context.Background(), draft, d.ttl())
		}, "create the link")
}

// onUpdateTapped re-publishes the collection's current state.
func (d *shareDialog) onUpdateTapped() {
	if d.link == nil {
		return
	}
	id := d.link.ID
	d.withDraft(func(ctx context.Context) (app.LinkDraft, error) { return d.links.Draft(ctx, d.coll.ID) },
		func(draft app.LinkDraft) (app.Link, error) { return d.links.Update(context.Background(), id, draft) },
		"update the link")
}

// withDraft drafts in the background, confirms findings, then runs
// publish in the background and shows the link.
func (d *shareDialog) withDraft(draft func(context.Context) (app.LinkDraft, error), publish func(app.LinkDraft) (app.Link, error), action string) {
	d.bg.Go(func() func() {
		dr, err := draft(context.Background())
		return func() {
			if err != nil {
				d.failed(action, err)
				return
			}
			confirmFindings(d.win, dr, func(ok bool) {
				if !ok {
					d.showLink(d.link)
					return
				}
				d.publish(dr, publish, action)
			})
		}
	})
}

func (d *shareDialog) publish(dr app.LinkDraft, publish func(app.LinkDraft) (app.Link, error), action string) {
	d.status.SetText("Publishing…")
	d.bg.Go(func() func() {
		l, err := publish(dr)
		return func() {
			if err != nil {
				d.failed(action, err)
				return
			}
			d.showLink(&l)
		}
	})
}

func (d *shareDialog) failed(action string, err error) {
	d.showLink(d.link)
	showError(d.win, action, err)
}

// confirmFindings asks before publishing what looks like credentials;
// done(true) goes ahead. Without findings it goes ahead at once.
func confirmFindings(win fyne.Window, dr app.LinkDraft, done func(bool)) {
	if len(dr.Findings) == 0 {
		done(true)
		return
	}
	lines := make([]string, 0, len(dr.Findings))
	for _, f := range dr.Findings {
		lines = append(lines, fmt.Sprintf("• %s: %s (%s)", f.Where, f.What, f.Preview))
	}
	text := widget.NewLabel(strings.Join(lines, "\n"))
	head := widget.NewLabel(fmt.Sprintf("%q holds what looks like credentials. Anyone with the link could read them. "+
		"Move them into secret variables (left out of links), or publish anyway.", dr.Name))
	head.Wrapping = fyne.TextWrapWord
	scroll := container.NewVScroll(text)
	scroll.SetMinSize(fyne.NewSize(520, 180))
	c := dialog.NewCustomConfirm("Publish credentials?", "Publish anyway", "Cancel", container.NewBorder(head, nil, nil, nil, scroll), done, win)
	c.Show()
}

func (d *shareDialog) onCopyTapped() {
	if d.link != nil && d.link.URL != "" {
		fyne.CurrentApp().Clipboard().SetContent(d.link.URL)
		d.status.SetText("The URL is on the clipboard.")
	}
}

// onExpiryChanged changes the expiry of an existing link.
func (d *shareDialog) onExpiryChanged(string) {
	if d.link == nil || d.links == nil {
		return
	}
	id, ttl := d.link.ID, d.ttl()
	d.bg.Go(func() func() {
		l, err := d.links.SetExpiry(context.Background(), id, ttl)
		return func() {
			if err != nil {
				d.failed("change the expiry", err)
				return
			}
			d.showLink(&l)
		}
	})
}

func (d *shareDialog) onRevokeTapped() {
	if d.link == nil {
		return
	}
	id := d.link.ID
	dialog.ShowConfirm("Revoke link", "Revoke the link of "+d.coll.Name+"? Its URL stops working for everyone.", func(ok bool) {
		if !ok {
			return
		}
		d.bg.Go(func() func() {
			err := d.links.Revoke(context.Background(), id)
			return func() {
				if err != nil {
					d.failed("revoke the link", err)
					return
				}
				d.showLink(nil)
				d.status.SetText("Revoked: the URL no longer works. Create a new link to share again.")
			}
		})
	}, d.win)
}

// shareItems is the Collections menu's Share entry for node id, when the
// core reaches links.
func (p *collectionsPanel) shareItems(id string) []*fyne.MenuItem {
	n, ok := p.data[id]
	lc, can := p.core.(linksCore)
	if !ok || !can || n.Kind != model.KindCollection {
		return nil
	}
	if _, wired := p.core.(accountsCore); wired && lc.Links() == nil {
		return nil // Share appears once an account is signed in
	}
	coll := model.Collection{ID: n.ID, Name: n.Name}
	return []*fyne.MenuItem{fyne.NewMenuItem("Share…", func() {
		links := lc.Links()
		if links == nil {
			dialog.ShowInformation("Share", "Sharing a collection by link needs a signed-in account.", p.win)
			return
		}
		newShareDialog(p.win, p.bg, links, coll).Show()
	})}
}
