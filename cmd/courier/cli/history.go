package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/model"
)

// historyJSON is one entry of courier history --json.
type historyJSON struct {
	ID         string `json:"id"`
	Method     string `json:"method"`
	URL        string `json:"url"`
	Name       string `json:"name,omitempty"`
	Status     int    `json:"status"`
	Time       string `json:"time"`
	DurationMS int64  `json:"duration_ms"`
	Error      string `json:"error,omitempty"`
}

func runHistory(ctx context.Context, env *Env, args []string) error {
	fs := env.FlagSet("history", "[flags]")
	asJSON := fs.Bool("json", false, "print a JSON array (id, method, url, name, status, time, duration_ms, error)")
	n := fs.Int("n", 20, "show at most `N` entries")
	search := fs.String("s", "", "keep entries whose method, URL or name contains `TEXT` (any case)")
	pos, err := env.Parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return Usagef("unexpected argument %q", pos[0])
	}
	if *n < 1 {
		return Usagef("-n %d: want at least 1", *n)
	}
	env.onlyReads = true
	var hs []model.HistorySummary
	core, _, closeFn, err := env.OpenApp(ctx)
	var np *noProfileError
	switch {
	case errors.As(err, &np) && np.by == "":
		// Courier never ran here: nothing was sent, and nothing is
		// made to show it.
		fmt.Fprintf(env.Stderr, "courier: the history is empty: there is no Courier profile in %s yet\n", np.dir)
	case err != nil:
		return err
	default:
		defer closeFn()
		if hs, err = core.History(ctx, app.HistoryQuery{Search: *search, Limit: *n}); err != nil {
			return err
		}
	}
	if *asJSON {
		out := make([]historyJSON, len(hs))
		for i, h := range hs {
			out[i] = historyJSON{ID: string(h.ID), Method: h.Method, URL: h.URL, Name: h.Name, Status: h.Status,
				Time: h.SentAt.UTC().Format(time.RFC3339), DurationMS: h.Duration.Milliseconds(), Error: h.Error}
		}
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	for _, h := range hs {
		status := fmt.Sprint(h.Status)
		if h.Error != "" {
			status = "error"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%dms\t%s\n", h.SentAt.Local().Format("2006-01-02 15:04:05"), h.Method, status, h.Duration.Milliseconds(), h.URL)
	}
	return tw.Flush()
}
