package ui

// AppID is the Fyne application ID (it names the preferences folder).
const AppID = "io.github.courierapp.courier"

// Options adjusts Run.
type Options struct {
	// Notice is shown once at start when set (for example that the
	// keyring is unavailable and secrets are kept for this run only).
	Notice string
	// Account wires accounts, sync and collection links in; nil leaves
	// them out (the account menu then explains that they need a server).
	Account *AccountOptions
}
