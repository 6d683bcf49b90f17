package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/model"
)

const exportDetails = `Kinds:
  collection NAME    a collection as a Postman Collection v2.1 file
  environment NAME   an environment as a Postman environment file
  globals            the global variables as a Postman globals file
  dump               everything (collections, environments, globals, header
                     presets; not the history) as a Postman data dump

NAME matches case-insensitively; an ID works too. The file is written to
stdout unless -o is given. -o replaces a file whole, the target of a
symlink rather than the link, and writes into a device or pipe
(/dev/stdout, >(cmd)) in place. Secret variables are written with their
values: keep the file to yourself.

Examples:
  courier export collection petstore -o Petstore.postman_collection.json
  courier export dump > backup.json
`

func runExport(ctx context.Context, env *Env, args []string) error {
	fs := env.FlagSet("export", "[flags] collection NAME | environment NAME | globals | dump")
	out := fs.String("o", "", "write to `FILE` instead of stdout (- is stdout; a new file is readable by you only)")
	env.Details = exportDetails
	pos, err := env.Parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return Usagef("say what to export: collection NAME, environment NAME, globals or dump")
	}
	kind, rest := pos[0], pos[1:]
	want := 0
	switch kind {
	case "collection", "environment":
		want = 1
	case "globals", "dump":
	default:
		return Usagef("cannot export %q: want collection, environment, globals or dump", kind)
	}
	if len(rest) != want {
		if want == 1 {
			return Usagef("export %s: want one NAME, got %d", kind, len(rest))
		}
		return Usagef("export %s takes no NAME", kind)
	}
	env.onlyReads = true
	core, _, closeFn, err := env.OpenApp(ctx)
	if err != nil {
		return err
	}
	defer closeFn()
	data, err := exportData(ctx, core, kind, rest)
	if err != nil {
		return err
	}
	if len(data) == 0 || data[len(data)-1] != '\n' {
		data = append(data, '\n') // a text file's last line, as history --json ends
	}
	return writeOutput(env, *out, data)
}

func exportData(ctx context.Context, core *app.App, kind string, rest []string) ([]byte, error) {
	switch kind {
	case "collection":
		cs, err := core.Collections(ctx)
		if err != nil {
			return nil, err
		}
		id, err := pickByName("collection", rest[0], len(cs), func(i int) (model.ID, string) { return cs[i].ID, cs[i].Name })
		if err != nil {
			return nil, err
		}
		return core.ExportCollection(ctx, id)
	case "environment":
		es, err := core.Environments(ctx)
		if err != nil {
			return nil, err
		}
		id, err := pickByName("environment", rest[0], len(es), func(i int) (model.ID, string) { return es[i].ID, es[i].Name })
		if err != nil {
			return nil, err
		}
		return core.ExportEnvironment(ctx, id)
	case "globals":
		return core.ExportGlobals(ctx)
	}
	return core.ExportDump(ctx)
}

// pickByName finds the one item of n (item(i) gives its ID and name) that
// name designates: its ID, else its exact name, else its name in any case.
// None, or several, is an error (exit 1) that lists the choices.
func pickByName(what, name string, n int, item func(int) (model.ID, string)) (model.ID, error) {
	var exact, folded []model.ID
	var names []string
	for i := range n {
		id, nm := item(i)
		if string(id) == name {
			return id, nil
		}
		names = append(names, fmt.Sprintf("%q", nm))
		if nm == name {
			exact = append(exact, id)
		}
		if strings.EqualFold(nm, name) {
			folded = append(folded, id)
		}
	}
	switch {
	case len(exact) == 1:
		return exact[0], nil
	case len(exact) == 0 && len(folded) == 1:
		return folded[0], nil
	case len(folded) > 1:
		ids := make([]string, len(folded))
		for i, id := range folded {
			ids[i] = string(id)
		}
		return "", Exitf(ExitFailure, "%d %ss are named %q: give the ID of one instead: %s", len(folded), what, name, strings.Join(ids, ", "))
	case n == 0:
		return "", Exitf(ExitFailure, "no %s named %q: this profile has no %ss", what, name, what)
	}
	return "", Exitf(ExitFailure, "no %s named %q; the %ss are: %s", what, name, what, strings.Join(names, ", "))
}
