package ui

import (
	"context"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/model"
)

// curlPaste tells a pasted cURL command from one being typed: only a
// change that adds more than one character at once (a paste) converts, so
// typing "curl https://..." by hand is not turned into a request at "curl h".
type curlPaste struct{ prev string }

// convertPastedCurl is called with every user change of the URL field. When
// text is a cURL command that was just pasted, the request becomes that
// command (method, URL, headers, body, auth; its name and place are kept)
// and it returns true.
func (e *requestEditor) convertPastedCurl(text string) bool {
	prev := e.curl.prev
	e.curl.prev = text
	if len([]rune(text))-len([]rune(prev)) <= 1 || !app.LooksLikeCurl(text) {
		return false
	}
	parsed, err := app.ParseCurl(text)
	if err != nil {
		return false // left as typed: sending it explains what is wrong
	}
	r := e.Request()
	r.Method, r.URL, r.Headers, r.Body, r.Auth = parsed.Method, parsed.URL, parsed.Headers, parsed.Body, parsed.Auth
	if len(parsed.Extra) > 0 {
		r.Extra = mergeExtra(r.Extra, parsed.Extra)
	}
	e.SetRequest(r)
	e.curl.prev = e.url.Text
	e.changed()
	return true
}

func mergeExtra[V any](dst, src map[string]V) map[string]V {
	out := make(map[string]V, len(dst)+len(src))
	for k, v := range dst {
		out[k] = v
	}
	for k, v := range src {
		out[k] = v
	}
	return out
}

// curlCore is what Copy as cURL needs from the core.
type curlCore interface {
	ExportCurl(ctx context.Context, req model.Request) (string, error)
	ExportCurlResolved(ctx context.Context, req model.Request) (string, error)
}

var _ curlCore = (*app.App)(nil)

// curlButton is the tab's cURL menu: copy the request as a cURL command,
// with {{variables}} as written or resolved.
func (t *requestTab) curlButton() fyne.CanvasObject {
	core, ok := t.core.(curlCore)
	if !ok {
		return widget.NewLabel("")
	}
	var btn *widget.Button
	btn = widget.NewButtonWithIcon("cURL", theme.ContentCopyIcon(), func() {
		items := []*fyne.MenuItem{
			fyne.NewMenuItem("Copy as cURL", func() { t.CopyAsCurl(core.ExportCurl) }),
			fyne.NewMenuItem("Copy as cURL, variables resolved", func() { t.CopyAsCurl(core.ExportCurlResolved) }),
		}
		c := fyne.CurrentApp().Driver().CanvasForObject(btn)
		if c == nil {
			c = t.win.Canvas()
		}
		pos := fyne.CurrentApp().Driver().AbsolutePositionForObject(btn).Add(fyne.NewPos(0, btn.Size().Height))
		widget.ShowPopUpMenuAtPosition(fyne.NewMenu("", items...), c, pos)
	})
	return btn
}

// CopyAsCurl writes the request as edited to the clipboard as a cURL
// command made by export.
func (t *requestTab) CopyAsCurl(export func(context.Context, model.Request) (string, error)) {
	req := t.editor.Request()
	t.bg.Go(func() func() {
		cmd, err := export(context.Background(), req)
		return func() {
			if err != nil {
				showError(t.win, "copy the request as cURL", err)
				return
			}
			fyne.CurrentApp().Clipboard().SetContent(cmd)
		}
	})
}
