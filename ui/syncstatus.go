package ui

import (
	"fmt"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/courierapp/courier/app"
)

// syncIndicator is the IN SYNC indicator of the top bar: the sync status
// in a colour that tells its kind; tapping it shows the details and Sync
// now.
type syncIndicator struct {
	syncer app.Syncer
	win    fyne.Window
	button *widget.Button
	status app.SyncStatus
	unsub  func()
	do     func(func())
	tick   *time.Timer // re-reads the status each second while a retry waits

	// OnSignIn opens the sign-in form (from the details when not signed
	// in).
	OnSignIn func()
	details  *syncDetails
}

// newSyncIndicator shows syncer's status and follows its changes through
// do (the UI goroutine).
func newSyncIndicator(syncer app.Syncer, win fyne.Window, do func(func())) *syncIndicator {
	i := &syncIndicator{syncer: syncer, win: win, do: do}
	i.button = widget.NewButton("", i.onTapped)
	i.show(syncer.Status())
	i.unsub = syncer.Subscribe(func(st app.SyncStatus) { do(func() { i.show(st) }) })
	return i
}

// show paints st.
func (i *syncIndicator) show(st app.SyncStatus) {
	i.status = st
	i.button.SetText(st.String())
	i.button.Importance = syncImportance(st.State)
	i.button.Refresh()
	if i.details != nil {
		i.details.show(st)
	}
	if (st.State == app.SyncOffline || st.State == app.SyncFailed) && i.tick == nil && i.unsub != nil {
		i.tick = time.AfterFunc(time.Second, func() {
			st := i.syncer.Status()
			i.do(func() {
				i.tick = nil
				i.show(st)
			})
		})
	}
}

// Close stops following the status.
func (i *syncIndicator) Close() {
	if i.unsub != nil {
		i.unsub()
		i.unsub = nil
	}
	if i.tick != nil {
		i.tick.Stop()
	}
}

// syncImportance is the indicator's colour: green in sync, blue while
// working, amber offline, red when the person must act or sync failed,
// grey when sync does not run.
func syncImportance(s app.SyncState) widget.Importance {
	switch s {
	case app.SyncInSync:
		return widget.SuccessImportance
	case app.SyncConnecting, app.SyncSyncing:
		return widget.HighImportance
	case app.SyncOffline:
		return widget.WarningImportance
	case app.SyncActionNeeded, app.SyncFailed:
		return widget.DangerImportance
	}
	return widget.LowImportance
}

// syncDetails is the dialog behind the indicator.
type syncDetails struct {
	state, pending, last, failure *widget.Label
	// startedOver tells when the device last started over (hidden
	// until it has).
	startedOver *widget.Label
	syncNow     *widget.Button
	dlg         dialog.Dialog
}

func (i *syncIndicator) onTapped() {
	d := &syncDetails{state: widget.NewLabel(""), pending: widget.NewLabel(""), last: widget.NewLabel(""), failure: widget.NewLabel(""), startedOver: widget.NewLabel("")}
	d.failure.Wrapping = fyne.TextWrapWord
	d.startedOver.Wrapping = fyne.TextWrapWord
	d.syncNow = widget.NewButton("Sync now", i.syncer.SyncNow)
	d.syncNow.Importance = widget.HighImportance
	form := widget.NewForm(
		widget.NewFormItem("Status", d.state), widget.NewFormItem("Pending changes", d.pending),
		widget.NewFormItem("Last sync", d.last), widget.NewFormItem("Last error", d.failure),
	)
	buttons := container.NewHBox(d.syncNow)
	if needsSignIn(i.status) && i.OnSignIn != nil {
		buttons.Add(widget.NewButton("Sign in…", func() { d.dlg.Hide(); i.OnSignIn() }))
	}
	d.dlg = dialog.NewCustom("Sync", "Close", container.NewVBox(form, d.startedOver, buttons), i.win)
	d.dlg.SetOnClosed(func() { i.details = nil })
	d.dlg.Resize(fyne.NewSize(460, 280))
	i.details = d
	d.show(i.status)
	d.dlg.Show()
}

func (d *syncDetails) show(st app.SyncStatus) {
	d.state.SetText(st.String())
	d.pending.SetText(fmt.Sprint(st.Pending))
	d.last.SetText(lastSyncText(st.LastSync))
	d.failure.SetText(withoutKinds(st.LastError))
	if st.LastError == "" {
		d.failure.SetText("none")
	}
	d.startedOver.SetText(startedOverText(st.StartedOver))
	if st.StartedOver.IsZero() {
		d.startedOver.Hide()
	} else {
		d.startedOver.Show()
	}
	switch st.State {
	case app.SyncNotSignedIn, app.SyncOff, app.SyncActionNeeded:
		d.syncNow.Disable()
	default:
		d.syncNow.Enable()
	}
}

// needsSignIn reports whether st asks the person to sign in (again).
func needsSignIn(st app.SyncStatus) bool {
	return st.State == app.SyncNotSignedIn || st.SessionRefused()
}

// startedOverText says what starting over at t did, or "" for never.
func startedOverText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return "The server had lost changes (it was restored from a backup, or the account's data was erased at a password reset): at " + lastSyncText(t) +
		" this device pulled the account again and pushed back what the server lacked."
}

func lastSyncText(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.Local().Format("2006-01-02 15:04:05")
}
