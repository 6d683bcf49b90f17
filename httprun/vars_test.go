package httprun

import (
	"errors"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/courierapp/courier/model"
)

func TestResolve(t *testing.T) {
	scope := Scope{
		Globals:     map[string]string{"host": "global.test", "g": "G", "who": "globals"},
		Collection:  map[string]string{"who": "collection", "c": "C", "base": "https://{{host}}/v{{ver}}"},
		Environment: map[string]string{"who": "environment", "ver": "2", "host": "env.test", "empty": ""},
	}
	tests := []struct {
		name, in, want string
	}{
		{"text without variables is kept", "plain text", "plain text"},
		{"environment wins over collection and globals", "{{who}}", "environment"},
		{"each level is visible", "{{g}}{{c}}{{ver}}", "GC2"},
		{"values are resolved recursively", "{{base}}/x", "https://env.test/v2/x"},
		{"unknown names stay as written", "a{{nope}}b", "a{{nope}}b"},
		{"an empty value resolves to nothing", "[{{empty}}]", "[]"},
		{"spaces around the name are allowed", "{{ ver }}", "2"},
		{"extra braces stay around the value", "{{{ver}}}", "{2}"},
		{"an empty reference stays", "{{}}", "{{}}"},
		{"an unclosed reference stays", "{{ver", "{{ver"},
		{"a brace inside the name is no reference", "{{a}b}}", "{{a}b}}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Resolve(tt.in, scope)
			if err != nil || got != tt.want {
				t.Fatalf("Resolve(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestResolveDynamic(t *testing.T) {
	uuidRE := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	t.Run("guid is a fresh v4 UUID at each occurrence", func(t *testing.T) {
		got, err := Resolve("{{$guid}} {{$guid}}", Scope{})
		a, b, _ := strings.Cut(got, " ")
		if err != nil || !uuidRE.MatchString(a) || !uuidRE.MatchString(b) || a == b {
			t.Fatalf("got %q, %v", got, err)
		}
	})
	t.Run("timestamp is unix seconds", func(t *testing.T) {
		got, err := Resolve("{{$timestamp}}", Scope{})
		n, perr := strconv.ParseInt(got, 10, 64)
		if err != nil || perr != nil || n < 1_700_000_000 {
			t.Fatalf("got %q, %v", got, err)
		}
	})
	t.Run("randomInt is between 0 and 1000", func(t *testing.T) {
		for range 50 {
			got, _ := Resolve("{{$randomInt}}", Scope{})
			if n, err := strconv.Atoi(got); err != nil || n < 0 || n > 1000 {
				t.Fatalf("got %q", got)
			}
		}
	})
	t.Run("a scope variable overrides a dynamic one", func(t *testing.T) {
		got, _ := Resolve("{{$guid}}", Scope{Globals: map[string]string{"$guid": "mine"}})
		if got != "mine" {
			t.Fatalf("got %q", got)
		}
	})
	t.Run("an unknown dynamic variable stays", func(t *testing.T) {
		got, _ := Resolve("{{$nope}}", Scope{})
		if got != "{{$nope}}" {
			t.Fatalf("got %q", got)
		}
	})
}

func TestResolveErrors(t *testing.T) {
	deep := map[string]string{}
	for i := range 12 {
		deep["v"+strconv.Itoa(i)] = "{{v" + strconv.Itoa(i+1) + "}}"
	}
	bomb := map[string]string{"b0": strings.Repeat("x", 1024)}
	for i := 1; i < 10; i++ {
		bomb["b"+strconv.Itoa(i)] = strings.Repeat("{{b"+strconv.Itoa(i-1)+"}}", 8)
	}
	tests := []struct {
		name  string
		in    string
		scope map[string]string
		is    error
		says  string
	}{
		{"a variable referring to itself", "{{a}}", map[string]string{"a": "x{{a}}"}, model.ErrInvalid, `variable "a" refers to itself (a -> a)`},
		{"a cycle through another variable", "{{a}}", map[string]string{"a": "{{b}}", "b": "{{a}}"}, model.ErrInvalid, `variable "a" refers to itself (a -> b -> a)`},
		{"nesting deeper than the limit", "{{v0}}", deep, model.ErrInvalid, "more than 10 levels"},
		{"a result that grows too large", "{{b9}}", bomb, model.ErrTooLarge, "longer than 32 MiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Resolve(tt.in, Scope{Environment: tt.scope})
			if !errors.Is(err, tt.is) || !strings.Contains(err.Error(), tt.says) {
				t.Fatalf("Resolve(%q) error %v; want %v saying %q", tt.in, err, tt.is, tt.says)
			}
		})
	}
}

func TestUnresolved(t *testing.T) {
	req := model.Request{
		Method: "POST",
		URL:    "{{base}}/users/{{id}}?q={{q}}",
		Headers: []model.KV{
			{Key: "X-A", Value: "{{hdr}}"},
			{Key: "X-Off", Value: "{{disabled_header}}", Disabled: true},
			{Key: "{{hname}}", Value: "v"},
		},
		Body: model.Body{Mode: model.BodyRaw, Raw: `{"t": "{{token}}", "n": "{{nested}}"}`,
			URLEncoded: []model.KV{{Key: "k", Value: "{{other_mode}}"}}},
		Auth: auth(model.AuthBearer, "token", "{{secret}}"),
	}
	scope := Scope{Environment: map[string]string{"base": "http://x", "id": "7", "nested": "{{inner}}", "loop": "{{loop}}"}}
	got := Unresolved(req, scope)
	want := []string{"hdr", "hname", "inner", "q", "secret", "token"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Unresolved = %v, want %v", got, want)
	}
	if got := Unresolved(model.Request{URL: "{{loop}}"}, scope); len(got) != 0 {
		t.Fatalf("a cycle is listed as unresolved: %v", got)
	}
	if got := Unresolved(model.Request{URL: "http://x/{{$guid}}"}, Scope{}); len(got) != 0 {
		t.Fatalf("a dynamic variable is listed as unresolved: %v", got)
	}
}

func FuzzResolve(f *testing.F) {
	for _, s := range []string{"", "{{a}}", "{{a}}{{b}}", "{{{a}}}", "{{$guid}}", "x{{", "}}{{", "{{a}b}}", "{{ b }}"} {
		f.Add(s, "{{b}}", "v{{a}}")
	}
	f.Fuzz(func(t *testing.T, s, a, b string) {
		scope := Scope{Globals: map[string]string{"a": a}, Environment: map[string]string{"b": b}}
		got, err := Resolve(s, scope)
		if err != nil {
			if !errors.Is(err, model.ErrInvalid) && !errors.Is(err, model.ErrTooLarge) {
				t.Fatalf("error outside the vocabulary: %v", err)
			}
			return
		}
		if !strings.Contains(s, "{{") && got != s {
			t.Fatalf("text without references changed: %q -> %q", s, got)
		}
		// Every reference left is one Unresolved reports.
		for _, name := range Unresolved(model.Request{URL: s}, scope) {
			if name == "a" || name == "b" {
				t.Fatalf("defined variable %q reported unresolved in %q", name, s)
			}
		}
	})
}
