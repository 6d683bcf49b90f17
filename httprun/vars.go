package httprun

import (
	crand "crypto/rand"
	"fmt"
	mrand "math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/courierapp/courier/model"
)

// Scope holds the variables visible to a request, each map from name to
// value (enabled variables only). When a name is in several maps the later
// one wins: Globals < Collection < Environment.
type Scope struct {
	Globals, Collection, Environment map[string]string
}

func (s Scope) lookup(name string) (string, bool) {
	for _, m := range []map[string]string{s.Environment, s.Collection, s.Globals} {
		if v, ok := m[name]; ok {
			return v, true
		}
	}
	if t := strings.TrimSpace(name); t != name {
		return s.lookup(t)
	}
	return "", false
}

// Limits of one resolution: how deep variables may refer to variables, and
// how long the result may grow (a few variables that each repeat the next
// twice would otherwise grow exponentially).
const (
	maxVarDepth    = 10
	maxResolvedLen = 32 << 20
)

// Resolve replaces every {{name}} in s by the variable's value from scope,
// itself resolved (a value may refer to other variables, up to 10 levels
// deep). A name that no map holds is looked up among the dynamic variables
// ({{$guid}}, {{$randomUUID}}, {{$timestamp}}, {{$isoTimestamp}},
// {{$randomInt}}), each made anew at every occurrence; any other unknown
// name is left as written, braces included (see Unresolved).
//
// A variable that refers to itself, directly or through others, or nesting
// deeper than the limit, is an error wrapping model.ErrInvalid that names
// the variable; a result over 32 MiB is an error wrapping model.ErrTooLarge.
func Resolve(s string, scope Scope) (string, error) {
	if !strings.Contains(s, "{{") {
		return s, nil
	}
	r := resolver{scope: scope}
	var b strings.Builder
	if err := r.expand(s, &b); err != nil {
		return "", err
	}
	return b.String(), nil
}

// Unresolved returns the names of the {{variables}} that Send would leave as
// literal braces in the request (in the URL, the enabled headers, the body
// of the current mode, the auth of the current type), including names
// referenced from the values of other variables; sorted, each once. A
// variable that refers to itself is not listed: Send reports it.
func Unresolved(req model.Request, scope Scope) []string {
	r := resolver{scope: scope, missing: map[string]bool{}}
	var b strings.Builder
	for _, t := range templates(req) {
		if !strings.Contains(t, "{{") {
			continue
		}
		b.Reset()
		r.stack = r.stack[:0]
		_ = r.expand(t, &b) // errors are Send's to report
	}
	names := make([]string, 0, len(r.missing))
	for n := range r.missing {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

type resolver struct {
	scope   Scope
	stack   []string        // the variables being expanded, outermost first
	missing map[string]bool // when not nil, collects unknown names
}

// expand writes s to b with its variables resolved.
func (r *resolver) expand(s string, b *strings.Builder) error {
	for {
		i := strings.Index(s, "{{")
		if i < 0 {
			b.WriteString(s)
			break
		}
		b.WriteString(s[:i])
		s = s[i:]
		j := strings.Index(s[2:], "}}")
		if j < 0 {
			b.WriteString(s)
			break
		}
		name := s[2 : 2+j]
		if name == "" || strings.ContainsAny(name, "{}") {
			// Not a reference here; a later "{{" may start one ("{{{a}}}").
			b.WriteByte('{')
			s = s[1:]
			continue
		}
		if err := r.variable(name, s[:4+j], b); err != nil {
			return err
		}
		if b.Len() > maxResolvedLen {
			return fmt.Errorf("variables make a text longer than %d MiB: %w", maxResolvedLen>>20, model.ErrTooLarge)
		}
		s = s[4+j:]
	}
	return nil
}

// variable writes the value of the reference literal ("{{name}}") to b.
func (r *resolver) variable(name, literal string, b *strings.Builder) error {
	v, ok := r.scope.lookup(name)
	if !ok {
		if d, ok := dynamic(name); ok {
			b.WriteString(d)
			return nil
		}
		if r.missing != nil {
			r.missing[name] = true
		}
		b.WriteString(literal)
		return nil
	}
	for k, n := range r.stack {
		if n == name {
			chain := strings.Join(append(r.stack[k:], name), " -> ")
			return fmt.Errorf("variable %q refers to itself (%s): %w", name, chain, model.ErrInvalid)
		}
	}
	if len(r.stack) >= maxVarDepth {
		return fmt.Errorf("variable %q: variables refer to variables more than %d levels deep: %w", name, maxVarDepth, model.ErrInvalid)
	}
	r.stack = append(r.stack, name)
	err := r.expand(v, b)
	r.stack = r.stack[:len(r.stack)-1]
	return err
}

// dynamic returns the value of a dynamic variable such as "$guid".
func dynamic(name string) (string, bool) {
	switch strings.TrimSpace(name) {
	case "$guid", "$randomUUID":
		return newUUID(), true
	case "$timestamp":
		return strconv.FormatInt(time.Now().Unix(), 10), true
	case "$isoTimestamp":
		return time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), true
	case "$randomInt":
		return strconv.Itoa(mrand.IntN(1001)), true
	}
	return "", false
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var u [16]byte
	_, _ = crand.Read(u[:]) // never fails (crypto/rand panics rather than return an error)
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:])
}
