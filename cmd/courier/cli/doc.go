// Package cli is the courier command: the desktop app when run without a
// subcommand, and the headless subcommands (send, history, and those other
// packages of this command add). Main runs it in-process with its own
// arguments, streams and environment, so tests drive it like a user.
//
// Adding a subcommand is one entry in the table in commands.go and a file
// holding its run function.
package cli
