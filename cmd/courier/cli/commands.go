package cli

// commands is the table of subcommands, in the order --help lists them.
// To add one, write its run function in a file of its own and add a line
// here. A run function parses its flags with env.FlagSet and opens the
// profile with env.OpenApp.
var commands = []Command{
	{Name: "send", Summary: "send one HTTP request and print the response", Run: runSend},
	{Name: "history", Summary: "list the requests sent, newest first", Run: runHistory},
}
