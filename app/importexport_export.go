package app

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"

	"github.com/courierapp/courier/httprun"
	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/postman"
)

// ExportCollection writes collection id, its folders, requests and
// variables as a Postman Collection v2.1 file. Secret variables are
// written with their values: the file is the user's own. Errors wrap
// model.ErrNotFound or the store's error.
func (a *App) ExportCollection(ctx context.Context, id model.ID) ([]byte, error) {
	c, err := a.Collection(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("export collection: %w", err)
	}
	fs, err := listObj[model.Folder](ctx, a, model.KindFolder)
	if err != nil {
		return nil, err
	}
	rs, err := a.allRequests(ctx)
	if err != nil {
		return nil, err
	}
	vs, err := a.Variables(ctx, id)
	if err != nil {
		return nil, err
	}
	out, err := postman.ExportCollection(c, fs, rs, vs)
	if err != nil {
		return nil, fmt.Errorf("export collection %q: %w", c.Name, err)
	}
	return out, nil
}

// allRequests is listObj for requests, decoded on several goroutines: a
// big collection's requests are most of an export's work.
func (a *App) allRequests(ctx context.Context) ([]model.Request, error) {
	recs, err := a.store.List(ctx, model.KindRequest)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", model.KindRequest, err)
	}
	out := make([]model.Request, len(recs))
	errs := make([]error, len(recs))
	workers := max(1, min(runtime.GOMAXPROCS(0), 4))
	chunk := max(1, (len(recs)+workers-1)/workers)
	var wg sync.WaitGroup
	for lo := 0; lo < len(recs); lo += chunk {
		hi := min(lo+chunk, len(recs))
		wg.Go(func() {
			for i := lo; i < hi; i++ {
				out[i], errs[i] = model.Decode[model.Request](recs[i])
			}
		})
	}
	wg.Wait()
	kept := out[:0]
	for i, r := range out {
		if errs[i] != nil {
			a.skipUnreadable(model.KindRequest, recs[i].ID, errs[i])
			continue
		}
		kept = append(kept, r)
	}
	return kept, nil
}

// ExportEnvironment writes environment id and its variables as a Postman
// environment file, secret values included. Errors wrap model.ErrNotFound
// or the store's error.
func (a *App) ExportEnvironment(ctx context.Context, id model.ID) ([]byte, error) {
	e, err := getObj[model.Environment](ctx, a.store, model.KindEnvironment, id)
	if err != nil {
		return nil, fmt.Errorf("export environment: %w", err)
	}
	vs, err := a.Variables(ctx, id)
	if err != nil {
		return nil, err
	}
	out, err := postman.ExportEnvironment(e, vs)
	if err != nil {
		return nil, fmt.Errorf("export environment %q: %w", e.Name, err)
	}
	return out, nil
}

// ExportGlobals writes the global variables as a Postman globals file,
// secret values included.
func (a *App) ExportGlobals(ctx context.Context) ([]byte, error) {
	vs, err := a.Variables(ctx, model.GlobalsID)
	if err != nil {
		return nil, err
	}
	out, err := postman.ExportGlobals(vs, nil)
	if err != nil {
		return nil, fmt.Errorf("export globals: %w", err)
	}
	return out, nil
}

// ExportDump writes the whole profile (every collection with its folders,
// requests and variables, every environment, the globals and the header
// presets; not the history) as a Postman data dump, secret values
// included.
func (a *App) ExportDump(ctx context.Context) ([]byte, error) {
	b := &postman.Bundle{Kind: postman.KindDump}
	var err error
	if b.Collections, err = a.Collections(ctx); err != nil {
		return nil, err
	}
	if b.Folders, err = listObj[model.Folder](ctx, a, model.KindFolder); err != nil {
		return nil, err
	}
	if b.Requests, err = a.allRequests(ctx); err != nil {
		return nil, err
	}
	if b.Environments, err = a.Environments(ctx); err != nil {
		return nil, err
	}
	if b.Variables, err = listObj[model.Variable](ctx, a, model.KindVariable); err != nil {
		return nil, err
	}
	if b.HeaderPresets, err = a.HeaderPresets(ctx); err != nil {
		return nil, err
	}
	out, err := postman.ExportDump(b)
	if err != nil {
		return nil, fmt.Errorf("export dump: %w", err)
	}
	return out, nil
}

// ExportCurl writes req as a cURL command, with its effective auth (the
// nearest folder's or the collection's when it inherits) in place of an
// inherited one. {{variables}} are written as they are; see
// ExportCurlResolved.
func (a *App) ExportCurl(ctx context.Context, req model.Request) (string, error) {
	p, err := a.Prepare(ctx, req)
	if err != nil {
		return "", fmt.Errorf("export curl: %w", err)
	}
	return postman.ExportCurl(p.Request), nil
}

// ExportCurlResolved is ExportCurl with every {{variable}} that the active
// environment, the collection or the globals define replaced by its value
// (secret ones too), so the command runs as it is. Unknown names stay as
// written. Errors wrap model.ErrInvalid for a variable that refers to
// itself.
func (a *App) ExportCurlResolved(ctx context.Context, req model.Request) (string, error) {
	p, err := a.Prepare(ctx, req)
	if err != nil {
		return "", fmt.Errorf("export curl: %w", err)
	}
	r, err := resolveRequest(p.Request, httprun.Scope(p.Scope))
	if err != nil {
		return "", fmt.Errorf("export curl: %w", err)
	}
	return postman.ExportCurl(r), nil
}

// resolveRequest resolves the variables of every part of r that cURL
// writes: URL, headers, body and auth parameters.
func resolveRequest(r model.Request, scope httprun.Scope) (model.Request, error) {
	var firstErr error
	res := func(s string) string {
		if !strings.Contains(s, "{{") {
			return s
		}
		out, err := httprun.Resolve(s, scope)
		if err != nil {
			firstErr = cmpErr(firstErr, err)
			return s
		}
		return out
	}
	kvs := func(in []model.KV) []model.KV {
		out := make([]model.KV, len(in))
		for i, kv := range in {
			kv.Key, kv.Value = res(kv.Key), res(kv.Value)
			out[i] = kv
		}
		return out
	}
	r.URL = res(r.URL)
	r.Headers = kvs(r.Headers)
	r.Body.Raw = res(r.Body.Raw)
	r.Body.URLEncoded = kvs(r.Body.URLEncoded)
	r.Body.FormData = kvs(r.Body.FormData)
	params := make([]model.AuthParam, len(r.Auth.Params))
	copy(params, r.Auth.Params)
	r.Auth.Params = params
	for _, p := range params {
		if s := r.Auth.Param(p.Key); strings.Contains(s, "{{") {
			r.Auth.SetParam(p.Key, res(s))
		}
	}
	return r, firstErr
}

func cmpErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}
