package ui

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/httprun"
	"github.com/courierapp/courier/model"
)

// settingsCore is what the settings dialog needs from the core.
type settingsCore interface {
	Settings(ctx context.Context) (app.Settings, error)
	SaveSettings(ctx context.Context, s app.Settings) error
}

var themeLabels = []struct{ label, name string }{
	{"System default", app.ThemeSystem}, {"Light", app.ThemeLight}, {"Dark", app.ThemeDark},
}

// settingsForm edits app.Settings: request timeout, TLS verification and
// CA certificates, redirects, proxy, history limit and theme.
type settingsForm struct {
	base         app.Settings
	timeout      *dialogEntry
	verifyTLS    *widget.Check
	caFile       *pemFileField
	redirects    *widget.Check
	maxRedirects *dialogEntry
	proxy        *dialogEntry
	historyLimit *dialogEntry
	theme        *widget.Select
}

func newSettingsForm(win fyne.Window, s app.Settings) *settingsForm {
	f := &settingsForm{base: s, timeout: newDialogEntry(win), maxRedirects: newDialogEntry(win), proxy: newDialogEntry(win), historyLimit: newDialogEntry(win)}
	f.caFile = newPEMFileField(win, s.CAFile, "optional: a PEM file of an internal CA")
	f.timeout.SetText(strconv.FormatFloat(s.Timeout.Seconds(), 'f', -1, 64))
	f.verifyTLS = widget.NewCheck("Verify server certificates", nil)
	f.verifyTLS.SetChecked(s.VerifyTLS)
	f.redirects = widget.NewCheck("Follow redirects", nil)
	f.redirects.SetChecked(s.FollowRedirects)
	f.maxRedirects.SetText(strconv.Itoa(s.MaxRedirects))
	f.proxy.SetText(s.Proxy)
	f.proxy.SetPlaceHolder("empty: from HTTPS_PROXY")
	f.historyLimit.SetText(strconv.Itoa(s.HistoryLimit))
	labels := make([]string, len(themeLabels))
	selected := themeLabels[0].label
	for i, t := range themeLabels {
		labels[i] = t.label
		if t.name == s.Theme {
			selected = t.label
		}
	}
	f.theme = widget.NewSelect(labels, nil)
	f.theme.SetSelected(selected)
	// Each field says what is wrong beneath it, and Save waits until all
	// are right: a dialog that closed on a bad value would lose every
	// other edit.
	f.timeout.Validator = func(s string) error {
		secs, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || secs <= 0 || time.Duration(secs*float64(time.Second)) > app.MaxTimeout {
			return fmt.Errorf("a number of seconds, above 0 and at most %.0f", app.MaxTimeout.Seconds())
		}
		return nil
	}
	f.maxRedirects.Validator = wholeNumber(0, app.RedirectsLimit)
	f.historyLimit.Validator = wholeNumber(1, model.MaxHistoryLimit)
	f.proxy.Validator = func(s string) error {
		if err := app.ValidateProxy(s); err != nil {
			return errors.New(strings.TrimSuffix(err.Error(), ": "+model.ErrInvalid.Error()))
		}
		return nil
	}
	return f
}

// wholeNumber validates a whole number from lo to hi.
func wholeNumber(lo, hi int) fyne.StringValidator {
	return func(s string) error {
		if n, err := strconv.Atoi(strings.TrimSpace(s)); err != nil || n < lo || n > hi {
			return fmt.Errorf("a whole number from %d to %d", lo, hi)
		}
		return nil
	}
}

func (f *settingsForm) items() []*widget.FormItem {
	return []*widget.FormItem{
		widget.NewFormItem("Request timeout (s)", f.timeout),
		widget.NewFormItem("TLS", f.verifyTLS),
		widget.NewFormItem("CA certificates", f.caFile.row),
		widget.NewFormItem("Redirects", f.redirects),
		widget.NewFormItem("Max redirects", f.maxRedirects),
		widget.NewFormItem("Proxy", f.proxy),
		widget.NewFormItem("History limit", f.historyLimit),
		widget.NewFormItem("Theme", f.theme),
	}
}

// Settings returns the settings as edited, or an error naming the field
// that does not parse (wrapping model.ErrInvalid).
func (f *settingsForm) Settings() (app.Settings, error) {
	s := f.base
	// The number fields' own checks say what is wrong (Validate below
	// says it of the proxy).
	for _, c := range []struct {
		name string
		e    *dialogEntry
	}{{"the request timeout", f.timeout}, {"max redirects", f.maxRedirects}, {"the history limit", f.historyLimit}} {
		if err := c.e.Validate(); err != nil {
			return s, fmt.Errorf("%s must be %v: %w", c.name, err, model.ErrInvalid)
		}
	}
	secs, _ := strconv.ParseFloat(strings.TrimSpace(f.timeout.Text), 64)
	s.Timeout = time.Duration(secs * float64(time.Second))
	s.MaxRedirects, _ = strconv.Atoi(strings.TrimSpace(f.maxRedirects.Text))
	s.HistoryLimit, _ = strconv.Atoi(strings.TrimSpace(f.historyLimit.Text))
	s.VerifyTLS, s.FollowRedirects = f.verifyTLS.Checked, f.redirects.Checked
	s.Proxy = strings.TrimSpace(f.proxy.Text)
	if s.CAFile = strings.TrimSpace(f.caFile.Text); s.CAFile != "" {
		if _, err := httprun.RootPool(s.CAFile); err != nil {
			return s, fmt.Errorf("the CA certificates: %w", err)
		}
	}
	for _, t := range themeLabels {
		if t.label == f.theme.Selected {
			s.Theme = t.name
		}
	}
	return s, s.Validate()
}

// showSettings opens the settings dialog; saving applies the theme at once.
func (mw *MainWindow) showSettings() {
	mw.bg.Go(func() func() {
		s, err := mw.core.Settings(context.Background())
		return func() {
			if err != nil {
				showError(mw.win, "read the settings", err)
				return
			}
			f := newSettingsForm(mw.win, s)
			items := f.items()
			acct := mw.newAccountSettings() // account_settings.go; nil without accounts
			if acct != nil {
				items = append(items, acct.items()...)
			}
			var d dialog.Dialog
			d = dialog.NewForm("Settings", "Save", "Cancel", items, func(ok bool) {
				if !ok {
					return
				}
				if _, err := f.Settings(); err != nil {
					// Back to the form, edits and all, once the
					// person has read why.
					e := dialog.NewError(humanError("save the settings", err), mw.win)
					e.SetOnClosed(d.Show)
					e.Show()
					return
				}
				mw.saveSettings(f)
				if err := acct.saveIfAny(); err != nil {
					showError(mw.win, "save the sync settings", err)
				}
			}, mw.win)
			if acct != nil {
				acct.closeSettings = d.Hide
			}
			d.Resize(fyne.NewSize(620, d.MinSize().Height))
			d.Show()
		}
	})
}

func (mw *MainWindow) saveSettings(f *settingsForm) {
	s, err := f.Settings()
	if err != nil {
		showError(mw.win, "save the settings", err)
		return
	}
	mw.applyTheme(s.Theme)
	mw.bg.Go(func() func() {
		err := mw.core.SaveSettings(context.Background(), s)
		return func() {
			if err != nil {
				showError(mw.win, "save the settings", err)
			}
		}
	})
}

func (mw *MainWindow) applyTheme(name string) {
	mw.app.Settings().SetTheme(themeFor(name))
}
