package cli

// commands is the table of subcommands, in the order --help lists them.
// To add one, write its run function in a file of its own and add a line
// here. A run function parses its flags with env.FlagSet and opens the
// profile with env.OpenApp; one that only reads sets env.onlyReads first,
// so that a profile Courier may not write is opened read-only.
var commands = []Command{
	{Name: "send", Summary: "send one HTTP request and print the response", Run: runSend},
	{Name: "history", Summary: "list the requests sent, newest first", Run: runHistory},
	{Name: "import", Summary: "import a Postman collection, environment, globals, dump or cURL command", Run: runImport},
	{Name: "export", Summary: "write a collection, environment, the globals or everything as Postman files", Run: runExport},
	{Name: "signup", Summary: "create an account on a sync server", Run: runSignup},
	{Name: "confirm", Summary: "confirm the account's email with the emailed link", Run: runConfirm},
	{Name: "confirm-resend", Summary: "email a new confirmation link", Run: runConfirmResend},
	{Name: "login", Summary: "sign in to the account on this device", Run: runLogin},
	{Name: "logout", Summary: "sign out on this device", Run: runLogout},
	{Name: "password", Summary: "forgot, reset or change the account's password", Run: runPassword},
	{Name: "username", Summary: "email the account's username (username remind)", Run: runUsername},
	{Name: "devices", Summary: "list the devices signed in to the account, or revoke one", Run: runDevices},
	{Name: "sync", Summary: "sync with the account now, watch sync, or turn it on or off", Run: runSync},
	{Name: "status", Summary: "show the account, the sync state, pending changes and the last sync", Run: runStatus},
	{Name: "link", Summary: "share a collection by a public link: create, update, revoke, list", Run: runLink},
}
