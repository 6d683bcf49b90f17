package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/postman"
	"github.com/courierapp/courier/syncproto"
	"github.com/courierapp/courier/vault"
)

// ImportOptions tune Import and ImportURL.
type ImportOptions struct {
	// Progress, when set, is called as the input is read with the bytes
	// read so far and the total (-1 when unknown), from the goroutine
	// calling Import. The read is the slow part of a big file; the parse
	// and the store write that follow take a fraction of it.
	Progress func(read, total int64)
	// Size is the input's size when the caller knows it (0: Import asks
	// the reader for Len() or Stat(), else the total is unknown).
	Size int64
	// MaxSize caps the bytes read; 0 means postman.DefaultMaxSize for
	// Import and DefaultMaxImportURLSize for ImportURL.
	MaxSize int64
	// CAFile, when not empty, replaces Settings.CAFile for ImportURL.
	CAFile string
}

// Imported names one collection or environment that an import created.
type Imported struct {
	ID        model.ID
	Name      string
	Folders   int
	Requests  int
	Variables int
}

// ImportSummary says what one import stored.
type ImportSummary struct {
	// Kind is what the file was: "collection-v2.1", "environment", "dump",
	// "curl", ... (postman.Kind).
	Kind          string
	Collections   []Imported
	Environments  []Imported
	Globals       int // global variables added
	GlobalsUpdate int // existing global variables whose value was replaced
	HeaderPresets int
	// Warnings name the records stored that cannot sync (a value larger
	// than one synced field holds): they stay on this device.
	Warnings []string
}

// Lines describes the import for a person, one line per collection,
// environment, globals and presets, for example
// `collection "Petstore": 3 folders, 41 requests, 5 variables`.
func (s ImportSummary) Lines() []string {
	var out []string
	for _, c := range s.Collections {
		out = append(out, fmt.Sprintf("collection %q: %s, %s, %s", c.Name,
			plural(c.Folders, "folder"), plural(c.Requests, "request"), plural(c.Variables, "variable")))
	}
	for _, e := range s.Environments {
		out = append(out, fmt.Sprintf("environment %q: %s", e.Name, plural(e.Variables, "variable")))
	}
	if s.Globals+s.GlobalsUpdate > 0 {
		line := "globals: " + plural(s.Globals, "new variable")
		if s.GlobalsUpdate > 0 {
			line += fmt.Sprintf(", %d replaced", s.GlobalsUpdate)
		}
		out = append(out, line)
	}
	if s.HeaderPresets > 0 {
		out = append(out, plural(s.HeaderPresets, "header preset"))
	}
	if len(out) == 0 {
		out = append(out, "nothing (the file was empty)")
	}
	return out
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// curlCollectionName names the collection a cURL command is imported into.
const curlCollectionName = "cURL import"

// Import reads one Postman file (collection v1/v2.0/v2.1, environment,
// globals, data dump) or a cURL command from src, detecting its kind, and
// stores everything it holds in one transaction: all or nothing. New
// collections and environments go after the existing ones; a global
// variable whose name a global already has replaces that one's value (it
// would otherwise be shadowed by it); a cURL command becomes a request in
// a new collection named "cURL import".
//
// Errors wrap model.ErrInvalid naming the place of the problem (a JSON
// path such as item[3].request.url, or a line and column), model.ErrTooLarge
// past MaxSize, ctx's error when cancelled, or the store's error; in every
// case nothing was stored.
func (a *App) Import(ctx context.Context, src io.Reader, opts ImportOptions) (ImportSummary, error) {
	after, err := a.lastTopKey(ctx)
	if err != nil {
		return ImportSummary{}, err
	}
	total := opts.Size
	if total <= 0 {
		total = sizeOf(src)
	}
	popts := postman.Options{MaxSize: opts.MaxSize, After: after}
	if opts.Progress != nil {
		popts.Progress = func(read int64) { opts.Progress(read, total) }
	}
	b, err := postman.Import(ctx, src, popts)
	if err != nil {
		return ImportSummary{}, err
	}
	return a.storeBundle(ctx, b, after)
}

// sizeOf returns src's size when it can tell (a bytes or strings reader, a
// file), else -1.
func sizeOf(src io.Reader) int64 {
	switch r := src.(type) {
	case interface{ Len() int }:
		return int64(r.Len())
	case interface{ Stat() (fs.FileInfo, error) }:
		if fi, err := r.Stat(); err == nil && fi.Mode().IsRegular() {
			return fi.Size()
		}
	}
	return -1
}

// lastTopKey returns the largest order key of the collections and
// environments, so imported ones go after both lists.
func (a *App) lastTopKey(ctx context.Context) (string, error) {
	cs, err := listObj[model.Collection](ctx, a, model.KindCollection)
	if err != nil {
		return "", err
	}
	es, err := listObj[model.Environment](ctx, a, model.KindEnvironment)
	if err != nil {
		return "", err
	}
	var last string
	for _, c := range cs {
		last = max(last, c.Order)
	}
	for _, e := range es {
		last = max(last, e.Order)
	}
	return last, nil
}

// storeBundle writes b in one Apply and sums it up.
func (a *App) storeBundle(ctx context.Context, b *postman.Bundle, after string) (ImportSummary, error) {
	if b.Kind == postman.KindCurl {
		if err := curlIntoCollection(b, after); err != nil {
			return ImportSummary{}, err
		}
	}
	replaced, err := a.mergeGlobals(ctx, b)
	if err != nil {
		return ImportSummary{}, err
	}
	ops, err := bundleOps(b)
	if err != nil {
		return ImportSummary{}, err
	}
	if err := ctx.Err(); err != nil {
		return ImportSummary{}, fmt.Errorf("import cancelled: %w", err)
	}
	if len(ops) > 0 {
		if err := a.store.Apply(ctx, ops...); err != nil {
			return ImportSummary{}, fmt.Errorf("import %s: store %d records: %w", b.Kind, len(ops), err)
		}
	}
	s := summarize(b)
	s.Globals -= replaced
	s.GlobalsUpdate = replaced
	s.Warnings = unsyncable(ops)
	a.log.Info("imported", "kind", b.Kind, "records", len(ops))
	return s, nil
}

// unsyncable says which of ops write a value larger than one synced field
// holds (syncproto.MaxFieldValue, sealed): their records stay on this
// device, and sync says so each time it runs.
func unsyncable(ops []model.Op) []string {
	var out []string
	for _, op := range ops {
		for _, field := range slices.Sorted(maps.Keys(op.Fields)) {
			n := len(op.Fields[field]) + vault.Overhead
			if n <= syncproto.MaxFieldValue {
				continue
			}
			var name string
			_ = json.Unmarshal(op.Fields["name"], &name)
			out = append(out, fmt.Sprintf("%s %q stays on this device: its %s is %s, more than the %s one synced value holds",
				op.Kind, name, field, model.FormatSize(int64(n)), model.FormatSize(syncproto.MaxFieldValue)))
			break
		}
	}
	return out
}

// bundleOps is b.Ops() with the requests (most of a big file) encoded on
// several goroutines; the order of the ops is the same.
func bundleOps(b *postman.Bundle) ([]model.Op, error) {
	rest := *b
	rest.Requests = nil
	head, err := rest.Ops()
	if err != nil {
		return nil, err
	}
	reqOps := make([]model.Op, len(b.Requests))
	errs := make([]error, len(b.Requests))
	workers := max(1, min(runtime.GOMAXPROCS(0), 4))
	chunk := (len(b.Requests) + workers - 1) / workers
	var wg sync.WaitGroup
	for lo := 0; lo < len(b.Requests); lo += chunk {
		hi := min(lo+chunk, len(b.Requests))
		wg.Go(func() {
			for i := lo; i < hi; i++ {
				r := &b.Requests[i]
				if reqOps[i], errs[i] = model.UpsertOp(model.KindRequest, r.ID, r); errs[i] != nil {
					errs[i] = fmt.Errorf("import request %s: %w", r.ID, errs[i])
					return
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	n := len(b.Collections) + len(b.Folders)
	ops := make([]model.Op, 0, len(head)+len(reqOps))
	ops = append(append(append(ops, head[:n]...), reqOps...), head[n:]...)
	return ops, nil
}

// curlIntoCollection puts the request of a cURL import into a new
// collection, so it has a place in the sidebar.
func curlIntoCollection(b *postman.Bundle, after string) error {
	key, err := model.KeyBetween(after, "")
	if err != nil {
		return fmt.Errorf("import curl: %w", err)
	}
	c := model.Collection{ID: model.NewID(), Name: curlCollectionName, Order: key}
	for i := range b.Requests {
		r := &b.Requests[i]
		if r.ID == "" {
			r.ID = model.NewID()
		}
		if strings.TrimSpace(r.Name) == "" {
			r.Name = strings.TrimSpace(r.Method + " " + r.URL)
		}
		r.Collection, r.Parent = c.ID, c.ID
		if r.Order, err = model.KeyBetween("", ""); err != nil {
			return fmt.Errorf("import curl: %w", err)
		}
	}
	b.Collections = append(b.Collections, c)
	return nil
}

// mergeGlobals gives each imported global variable whose name an existing
// global has that global's ID and place, so the import replaces its value
// instead of adding a twin that the older one would shadow (of existing
// twins, the one requests use). It returns how many it merged.
func (a *App) mergeGlobals(ctx context.Context, b *postman.Bundle) (int, error) {
	var n int
	var existing map[string]model.Variable
	for i := range b.Variables {
		v := &b.Variables[i]
		if v.Owner != model.GlobalsID {
			continue
		}
		if existing == nil {
			olds, err := a.Variables(ctx, model.GlobalsID)
			if err != nil {
				return 0, err
			}
			// Of twins (made on two devices at once), the one requests
			// use: the first enabled, else the first.
			existing = map[string]model.Variable{}
			for _, o := range olds {
				if cur, dup := existing[o.Name]; !dup || !cur.Enabled && o.Enabled {
					existing[o.Name] = o
				}
			}
		}
		if o, ok := existing[v.Name]; ok {
			v.ID, v.Order = o.ID, o.Order
			delete(existing, v.Name) // a second twin in the file stays a new variable
			n++
		}
	}
	return n, nil
}

// summarize counts what b holds per collection and environment.
func summarize(b *postman.Bundle) ImportSummary {
	s := ImportSummary{Kind: string(b.Kind), HeaderPresets: len(b.HeaderPresets)}
	idx := map[model.ID]int{}
	for _, c := range b.Collections {
		idx[c.ID] = len(s.Collections)
		s.Collections = append(s.Collections, Imported{ID: c.ID, Name: c.Name})
	}
	for _, f := range b.Folders {
		if i, ok := idx[f.Collection]; ok {
			s.Collections[i].Folders++
		}
	}
	for _, r := range b.Requests {
		if i, ok := idx[r.Collection]; ok {
			s.Collections[i].Requests++
		}
	}
	eidx := map[model.ID]int{}
	for _, e := range b.Environments {
		eidx[e.ID] = len(s.Environments)
		s.Environments = append(s.Environments, Imported{ID: e.ID, Name: e.Name})
	}
	for _, v := range b.Variables {
		if i, ok := idx[v.Owner]; ok {
			s.Collections[i].Variables++
		} else if i, ok := eidx[v.Owner]; ok {
			s.Environments[i].Variables++
		} else if v.Owner == model.GlobalsID {
			s.Globals++
		}
	}
	return s
}

// ImportCurl turns a cURL command (as pasted into the URL bar) into an
// unsaved request: method, URL, headers, body and auth. It stores nothing.
// Errors wrap model.ErrInvalid.
func (a *App) ImportCurl(text string) (model.Request, error) { return ParseCurl(text) }

// ParseCurl is ImportCurl for callers without an App (the request editor).
// Newlines and the backslashes that continued lines (also when a
// single-line field turned the newlines into spaces) are accepted. The
// request has no ID.
func ParseCurl(text string) (model.Request, error) {
	text = strings.ReplaceAll(strings.TrimSpace(text), " \\ ", " ")
	r, err := postman.ParseCurl(text)
	if err != nil {
		return model.Request{}, fmt.Errorf("import curl: %w", err)
	}
	r.ID = ""
	return r, nil
}

// LooksLikeCurl reports whether s (text pasted into the URL bar) is a
// cURL command rather than a URL.
func LooksLikeCurl(s string) bool { return postman.LooksLikeCurl(s) }
