package cli

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/syncclient"
)

const importDetails = `The kind of file is detected: a Postman collection (v1, v2.0, v2.1), an
environment, a globals file, a Postman data dump, or a cURL command (stored
as a request in a new collection "cURL import"). Everything is stored at
once, or nothing: a file with a problem is an error that names the place (a
JSON path such as item[3].request.url, or a line and column) and leaves the
profile as it was. A global variable whose name a global already has gets
the imported value.

A URL is fetched over https (plain http only from localhost); a collection
link of a Courier server (https://HOST/c/TOKEN) works too, and so does the
courier://import?url=... link of its page (the url it holds is fetched).
The server's certificate is checked against the system's roots, the CA
certificates of the profile's settings (or --ca, else COURIER_CA), and for
the account's own server the CA given at sign-in.

Examples:
  courier import Petstore.postman_collection.json
  courier import https://example.org/c/3fG7kQ
  courier import 'courier://import?url=https%3A%2F%2Fexample.org%2Fc%2F3fG7kQ'
  pbpaste | courier import -
`

func runImport(ctx context.Context, env *Env, args []string) error {
	fs := env.FlagSet("import", "[flags] PATH|URL|-")
	caFlag := fs.String("ca", "", "for a URL, also trust the CA certificates in PEM `FILE` (default: $COURIER_CA, else the profile's setting)")
	env.Details = importDetails
	pos, err := env.Parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return Usagef("want one file, URL or - (stdin), got %d arguments", len(pos))
	}
	src := pos[0]
	ca := *caFlag
	if ca != "" || isURL(src) || isOpenURL(src) { // COURIER_CA is for URLs only
		if ca, err = caFile(env, ca); err != nil {
			return err
		}
	}
	core, _, closeFn, err := env.OpenApp(ctx)
	if err != nil {
		return err
	}
	defer closeFn()
	s, err := importFrom(ctx, env, core, src, ca)
	var unknown x509.UnknownAuthorityError
	if errors.As(err, &unknown) && ca == "" && !strings.Contains(err.Error(), syncclient.TrustCAHint) {
		// A certificate of a CA this computer does not trust (not one
		// for another name, nor a server that does not speak TLS).
		return &hintedError{msg: err.Error() + " (trust its CA with --ca FILE)", err: err}
	}
	if err != nil {
		return err
	}
	for _, line := range s.Lines() {
		fmt.Fprintf(env.Stdout, "imported %s\n", line)
	}
	for _, w := range s.Warnings {
		fmt.Fprintf(env.Stderr, "courier: warning: %s\n", w)
	}
	return nil
}

// isURL reports whether the source of an import is a URL to fetch.
func isURL(src string) bool {
	return strings.HasPrefix(src, "https://") || strings.HasPrefix(src, "http://")
}

// importFrom imports src: "-" for stdin, an http(s) URL, a
// courier://import?url=... link (as `courier courier://...` reads it), or
// a file.
func importFrom(ctx context.Context, env *Env, core *app.App, src, caFile string) (app.ImportSummary, error) {
	switch {
	case src == "-":
		s, err := core.Import(ctx, env.Stdin, app.ImportOptions{})
		if err != nil {
			return s, fmt.Errorf("stdin: %w", err)
		}
		return s, nil
	case isURL(src):
		return core.ImportURL(ctx, src, app.ImportOptions{CAFile: caFile})
	case isOpenURL(src): // the link of a collection's page: import its url
		target, err := app.ParseOpenURL(src)
		if err != nil {
			return app.ImportSummary{}, err
		}
		return core.ImportURL(ctx, target, app.ImportOptions{CAFile: caFile})
	}
	f, err := os.Open(src)
	if err != nil {
		return app.ImportSummary{}, Exitf(ExitFailure, "%v", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.IsDir() {
		return app.ImportSummary{}, Exitf(ExitFailure, "%s is a folder: give one file (the desktop app imports whole folders)", src)
	}
	s, err := core.Import(ctx, io.Reader(f), app.ImportOptions{})
	if err != nil {
		return s, fmt.Errorf("%s: %w", src, err)
	}
	return s, nil
}
