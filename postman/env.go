package postman

import (
	"encoding/json"

	"github.com/courierapp/courier/model"
)

// environment imports {id, name, values, _postman_variable_scope, ...}.
func (d *decoder) environment(ms []member, path string, order string) error {
	env := model.Environment{ID: model.NewID(), Order: order}
	for _, m := range ms {
		p := join(path, m.key)
		switch m.key {
		case "name":
			env.Name = scalarText(m.val)
			keepShadow(&env.Extra, m.key, m.val, encodeStr(env.Name))
		case "values":
			if err := d.variables(m.val, p, env.ID, varEnv); err != nil {
				return err
			}
		case "_postman_variable_scope":
			// The exporter always writes "environment"; keep only another value.
			if scalarText(m.val) != "environment" {
				setExtra(&env.Extra, m.key, m.val)
			}
		default:
			setExtra(&env.Extra, m.key, m.val)
		}
	}
	d.b.Environments = append(d.b.Environments, env)
	return nil
}

// globals imports a globals object or a bare array of variables.
func (d *decoder) globals(c []byte, path string) error {
	if _, ok := elements(c); ok {
		d.b.Globals = &GlobalsMeta{Array: true}
		return d.variables(c, path, model.GlobalsID, varEnv)
	}
	ms, ok := members(c)
	if !ok {
		return pathErr(path, "globals must be an object or an array, not %s", kindOf(c))
	}
	g := &GlobalsMeta{}
	for _, m := range ms {
		if m.key == "values" {
			if err := d.variables(m.val, join(path, m.key), model.GlobalsID, varEnv); err != nil {
				return err
			}
			continue
		}
		setExtra(&g.Extra, m.key, m.val)
	}
	d.b.Globals = g
	return nil
}

// ExportEnvironment writes env and the variables it owns (others in vars
// are ignored) as a Postman environment file. Secret variables are written
// with type "secret" and their values.
func ExportEnvironment(env model.Environment, vars []model.Variable) ([]byte, error) {
	return indent(environmentJSON(env, vars))
}

func environmentJSON(env model.Environment, vars []model.Variable) []byte {
	o := obj{}
	if id, ok := env.Extra["id"]; ok {
		o.set("id", compactRaw(id))
	}
	o.set("name", chooseShadow(env.Extra, "name", encodeStr(env.Name), recanonStr))
	o.set("values", varsJSON(ownVars(vars, env.ID)))
	o.extras(env.Extra, "name", "values")
	if !o.has("_postman_variable_scope") {
		o.set("_postman_variable_scope", jstr("environment"))
	}
	return o.bytes()
}

func varsJSON(vs []model.Variable) []byte {
	items := make([][]byte, len(vs))
	for i, v := range vs {
		items[i] = exportVar(v, varEnv)
	}
	return array(items)
}

// ExportGlobals writes the global variables (those owned by
// model.GlobalsID) as a globals file in the shape meta describes; nil
// meta writes Postman's object form.
func ExportGlobals(vars []model.Variable, meta *GlobalsMeta) ([]byte, error) {
	return indent(globalsJSON(vars, meta))
}

func globalsJSON(vars []model.Variable, meta *GlobalsMeta) []byte {
	vs := varsJSON(ownVars(vars, model.GlobalsID))
	if meta != nil && meta.Array {
		return vs
	}
	o := obj{}
	var extra map[string]json.RawMessage
	if meta != nil {
		extra = meta.Extra
	}
	if id, ok := extra["id"]; ok {
		o.set("id", compactRaw(id))
	}
	if n, ok := extra["name"]; ok {
		o.set("name", compactRaw(n))
	} else {
		o.set("name", jstr("Globals"))
	}
	o.set("values", vs)
	o.extras(extra, "values")
	if !o.has("_postman_variable_scope") {
		o.set("_postman_variable_scope", jstr("globals"))
	}
	return o.bytes()
}
