// Command courier-server is Courier's sync server. See --help.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	m := NewMain()
	if err := m.ParseFlags(os.Args[1:], os.Getenv); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "courier-server:", err)
		os.Exit(2)
	}
	if m.MarkRestored {
		if err := m.RunMarkRestored(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "courier-server:", err)
			os.Exit(1)
		}
		return
	}
	if err := m.Open(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "courier-server:", err)
		os.Exit(1)
	}
	err := m.Run(ctx)
	m.Close()
	if err != nil {
		fmt.Fprintln(os.Stderr, "courier-server:", err)
		os.Exit(1)
	}
}
