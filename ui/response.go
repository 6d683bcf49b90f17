package ui

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"mime"
	"strings"
	"unicode/utf8"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/courierapp/courier/model"
)

// Display limits: a body is shown up to displayLimit bytes (the rest can be
// saved to a file); a binary body shows a hex preview of hexLimit bytes.
const (
	displayLimit = 256 << 10
	hexLimit     = 4 << 10
)

// responseData is a response made ready for display off the UI goroutine:
// everything the pane shows, already cut and formatted.
type responseData struct {
	Status     string
	Importance widget.Importance
	Time, Size string
	// Err is the transport error, when no response came back.
	Err string
	// Pretty is the indented, coloured JSON (nil when the body is not JSON);
	// Raw is the body as text, or the hex preview of a binary body.
	Pretty, Raw []widget.TextGridRow
	Headers     []model.KV
	Timings     model.Timings
	// Note says what is not shown ("Showing the first 256 KiB of 3.1 MiB").
	Note string
	// Warnings are the send's (a body unlike its Content-Type, twin
	// variables), shown under the note.
	Warnings []string
	// Body is the whole body when it is in memory; BodyFile holds it when
	// it was too large; either can be saved.
	Body     []byte
	BodyFile string
	Binary   bool
}

// responseInput is what a response pane is built from: a fresh send or a
// history entry.
type responseInput struct {
	Response model.Response
	Body     []byte
	BodyFile string
	Binary   bool
	Err      string
}

// prepareResponse formats in for display. It never puts more than
// displayLimit bytes of body (hexLimit for binary) into the rows.
func prepareResponse(in responseInput) responseData {
	if in.Err != "" {
		return responseData{Status: "Error", Importance: widget.DangerImportance, Err: in.Err}
	}
	r := in.Response
	body := in.Body
	if body == nil {
		body = r.Body
	}
	d := responseData{
		Status: statusText(r), Importance: statusImportance(r.Status),
		Time: formatDuration(r.Timings.Total), Size: model.FormatSize(max(r.Size, int64(len(body)))),
		Headers: r.Headers, Timings: r.Timings, Body: body, BodyFile: in.BodyFile,
		Binary: in.Binary || looksBinary(body),
	}
	if d.BodyFile == "" {
		d.BodyFile = r.BodyFile
	}
	whole := max(r.Size, int64(len(body)))
	if d.Binary {
		d.Raw = plainRows(hexDump(body))
		d.Note = fmt.Sprintf("Binary body: %s, %s. Hex preview of the first %s.", model.FormatSize(whole), mediaType(r.ContentType), model.FormatSize(hexLimit))
		return d
	}
	shown := body
	if len(shown) > displayLimit {
		shown = shown[:displayLimit]
	}
	if int64(len(shown)) < whole || r.Truncated {
		d.Note = fmt.Sprintf("Showing the first %s of %s.", model.FormatSize(int64(len(shown))), model.FormatSize(whole))
	}
	text := strings.ToValidUTF8(string(shown), "\uFFFD")
	d.Raw = plainRows(text)
	switch {
	case len(shown) == len(body):
		if pretty, ok := prettyJSON(shown); ok {
			d.Pretty = jsonRows(pretty)
		}
	case int64(len(body)) == whole && len(body) <= formatLimit:
		// The whole document is here: format it all and show the start
		// of that, rather than the raw start of a cut document, which
		// does not parse.
		if pretty, ok := prettyJSON(body); ok {
			d.Pretty = jsonRows(cutAtLine(pretty, displayLimit))
			d.Note = fmt.Sprintf("Showing the start of the %s body, formatted.", model.FormatSize(whole))
		}
	}
	return d
}

// formatLimit is the largest JSON body formatted whole to show its start.
const formatLimit = 16 << 20

// cutAtLine returns s cut to at most n bytes, at the end of a line.
func cutAtLine(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	if i := strings.LastIndexByte(s, '\n'); i > 0 {
		s = s[:i]
	}
	return s
}

func statusText(r model.Response) string {
	if r.StatusText != "" {
		if strings.HasPrefix(r.StatusText, fmt.Sprint(r.Status)) {
			return r.StatusText
		}
		return fmt.Sprintf("%d %s", r.Status, r.StatusText)
	}
	return fmt.Sprint(r.Status)
}

// statusImportance colours a status by class: 2xx green, 3xx blue, 4xx
// orange, 5xx (and anything else) red.
func statusImportance(code int) widget.Importance {
	switch {
	case code >= 200 && code < 300:
		return widget.SuccessImportance
	case code >= 300 && code < 400:
		return widget.HighImportance
	case code >= 400 && code < 500:
		return widget.WarningImportance
	}
	return widget.DangerImportance
}

func mediaType(ct string) string {
	if mt, _, err := mime.ParseMediaType(ct); err == nil {
		return mt
	}
	if ct == "" {
		return "unknown type"
	}
	return ct
}

// looksBinary reports whether b is not text: invalid UTF-8 or NUL bytes in
// its first 8 KiB.
func looksBinary(b []byte) bool {
	head := b[:min(len(b), 8<<10)]
	if bytes.IndexByte(head, 0) >= 0 {
		return true
	}
	// A multi-byte rune cut at the end of head is not a sign of binary.
	for i := 0; i < 3 && len(head) > 0 && !utf8.Valid(head) && len(head) == 8<<10; i++ {
		head = head[:len(head)-1]
	}
	return !utf8.Valid(head)
}

func hexDump(b []byte) string {
	return strings.TrimRight(hex.Dump(b[:min(len(b), hexLimit)]), "\n")
}

// prettyJSON indents b when it is a whole JSON document.
func prettyJSON(b []byte) (string, bool) {
	t := bytes.TrimSpace(b)
	if len(t) == 0 || (t[0] != '{' && t[0] != '[') {
		return "", false
	}
	var out bytes.Buffer
	if err := json.Indent(&out, t, "", "  "); err != nil {
		return "", false
	}
	return out.String(), true
}

// responseView is the response pane: status, time and size, then tabs
// Body (pretty or raw), Headers and Timings.
type responseView struct {
	status, time, size *widget.Label
	note               *widget.Label
	saveBtn            *widget.Button
	mode               *widget.RadioGroup
	text               *widget.TextGrid
	headers            *widget.TextGrid
	timings            *fyne.Container
	tabs               *container.AppTabs
	content            fyne.CanvasObject
	data               responseData

	// OnSave asks where to save the whole body of data.
	OnSave func(responseData)
	// OnCopy puts the shown body on the clipboard.
	OnCopy func(string)
}

func newResponseView() *responseView {
	v := &responseView{
		status: widget.NewLabel("No response yet"), time: widget.NewLabel(""), size: widget.NewLabel(""),
		note: widget.NewLabel(""), text: newTextView(), headers: newTextView(), timings: container.NewVBox(),
	}
	v.status.TextStyle.Bold = true
	v.note.Wrapping = fyne.TextWrapWord
	v.note.Hide()
	v.saveBtn = widget.NewButtonWithIcon("Save whole body…", theme.DocumentSaveIcon(), v.onSaveTapped)
	v.saveBtn.Hide()
	copyBtn := widget.NewButtonWithIcon("Copy", theme.ContentCopyIcon(), v.onCopyTapped)
	v.mode = widget.NewRadioGroup([]string{"Pretty", "Raw"}, nil)
	v.mode.Horizontal = true
	v.mode.Selected = "Pretty" // set before OnChanged: nothing to show yet
	v.mode.OnChanged = v.onModeChanged
	bodyTop := container.NewBorder(nil, v.note, nil, container.NewHBox(copyBtn, v.saveBtn), v.mode)
	v.tabs = container.NewAppTabs(
		container.NewTabItem("Body", container.NewBorder(bodyTop, nil, nil, nil, container.NewPadded(v.text))),
		container.NewTabItem("Headers", container.NewPadded(v.headers)),
		container.NewTabItem("Timings", container.NewVScroll(v.timings)),
	)
	top := container.NewHBox(v.status, v.time, v.size)
	v.content = container.NewBorder(top, nil, nil, nil, v.tabs)
	return v
}

// Content is the pane's widget tree.
func (v *responseView) Content() fyne.CanvasObject { return v.content }

// Clear shows the pane as before any response.
func (v *responseView) Clear(message string) {
	v.Show(responseData{Status: message, Importance: widget.MediumImportance})
}

// Show puts d on screen; it must run on the UI goroutine.
func (v *responseView) Show(d responseData) {
	v.data = d
	v.status.SetText(d.Status)
	v.status.Importance = d.Importance
	v.status.Refresh()
	v.time.SetText(d.Time)
	v.size.SetText(d.Size)
	var lines []string
	switch {
	case d.Err != "":
		lines = append(lines, d.Err)
	case d.Note != "":
		lines = append(lines, d.Note)
	}
	for _, w := range d.Warnings {
		lines = append(lines, "Warning: "+w)
	}
	v.note.SetText(strings.Join(lines, "\n"))
	v.note.Hidden = v.note.Text == ""
	v.note.Refresh()
	v.saveBtn.Hidden = d.Note == "" && !d.Binary || (len(d.Body) == 0 && d.BodyFile == "")
	v.saveBtn.Refresh()
	v.showBody()
	v.headers.Rows = headerRows(d.Headers)
	v.headers.Refresh()
	v.timings.Objects = timingRows(d.Timings)
	v.timings.Refresh()
}

func (v *responseView) showBody() {
	rows := v.data.Raw
	if v.mode.Selected == "Pretty" && v.data.Pretty != nil {
		rows = v.data.Pretty
	}
	v.text.Rows = rows
	v.text.Refresh()
}

func (v *responseView) onModeChanged(string) { v.showBody() }

func (v *responseView) onSaveTapped() {
	if v.OnSave != nil {
		v.OnSave(v.data)
	}
}

func (v *responseView) onCopyTapped() {
	if v.OnCopy != nil {
		v.OnCopy(v.text.Text())
	}
}

// StatusText returns the status line shown (for tests and accessibility).
func (v *responseView) StatusText() string { return v.status.Text }

func headerRows(hs []model.KV) []widget.TextGridRow {
	var b strings.Builder
	for i, h := range hs {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(h.Key + ": " + h.Value)
	}
	rows := plainRows(b.String())
	for _, r := range rows {
		for i := range r.Cells {
			if r.Cells[i].Rune == ':' {
				break
			}
			r.Cells[i].Style = styleKey
		}
	}
	return rows
}

// timingRows shows each phase as a bar scaled to the total.
func timingRows(t model.Timings) []fyne.CanvasObject {
	phases := []struct {
		name string
		d    float64
	}{
		{"DNS lookup", float64(t.DNS)}, {"Connect", float64(t.Connect)}, {"TLS handshake", float64(t.TLS)},
		{"First byte", float64(t.FirstByte)}, {"Total", float64(t.Total)},
	}
	total := max(float64(t.Total), 1)
	var out []fyne.CanvasObject
	for _, p := range phases {
		bar := widget.NewProgressBar()
		bar.Max = total
		bar.Value = min(p.d, total)
		label := formatDuration(durationOf(p.d))
		bar.TextFormatter = func() string { return label }
		out = append(out, container.NewBorder(nil, nil, fixedWidthLabel(p.name, 120), nil, bar))
	}
	return out
}
