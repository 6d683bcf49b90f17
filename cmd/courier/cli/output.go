package cli

import (
	"bufio"
	"fmt"
	"io"
	"os"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/model"
)

// printResponse writes the status line, the headers with include, a blank
// line and the body to stdout. A binary body, or one kept in a file, is
// summarised on a terminal; when stdout is not a terminal it gets the raw
// bytes alone (the status line and headers then go to stderr), so
// "courier send URL > file" saves exactly the body.
func printResponse(env *Env, res *app.SendResult, include bool) error {
	raw := res.Binary || res.BodyFile != ""
	tty := env.IsTerminal(env.Stdout)
	head := env.Stdout
	if raw && !tty {
		head = env.Stderr
	}
	w := bufio.NewWriter(env.Stdout)
	hw := w
	if head != env.Stdout {
		hw = bufio.NewWriter(head)
	}
	r := res.Response
	proto := r.Proto
	if proto == "" {
		proto = "HTTP/1.1"
	}
	fmt.Fprintf(hw, "%s %d %s\n", proto, r.Status, r.StatusText)
	if include {
		for _, h := range r.Headers {
			fmt.Fprintf(hw, "%s: %s\n", h.Key, h.Value)
		}
	}
	if hw != w {
		if err := hw.Flush(); err != nil {
			return fmt.Errorf("write the response: %w", err)
		}
	} else if len(res.Body) > 0 || raw {
		fmt.Fprintln(w)
	}
	if err := writeBody(w, res, raw, tty); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("write the response: %w", err)
	}
	return nil
}

func writeBody(w *bufio.Writer, res *app.SendResult, raw, tty bool) error {
	switch {
	case raw && tty:
		fmt.Fprintln(w, summary(res))
	case res.BodyFile != "":
		f, err := os.Open(res.BodyFile)
		if err != nil {
			return fmt.Errorf("read the body kept in %s: %w", res.BodyFile, err)
		}
		defer f.Close()
		if _, err := io.Copy(w, f); err != nil {
			return fmt.Errorf("write the response: %w", err)
		}
	default:
		_, _ = w.Write(res.Body)
		if !raw && len(res.Body) > 0 && res.Body[len(res.Body)-1] != '\n' && tty {
			_ = w.WriteByte('\n')
		}
	}
	return nil
}

// summary describes a body not shown: its size, type and where it is.
func summary(res *app.SendResult) string {
	ct := res.Response.ContentType
	if ct == "" {
		ct = "unknown type"
	}
	kind := "body"
	if res.Binary {
		kind = "binary body"
	}
	s := fmt.Sprintf("[%s: %s, %s", kind, model.FormatSize(res.Response.Size), ct)
	if res.BodyFile != "" {
		return s + ", saved in " + res.BodyFile + "]"
	}
	return s + ", not shown; redirect stdout to a file to save it]"
}
