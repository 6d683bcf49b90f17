package httprun

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/courierapp/courier/model"
)

func kvs(pairs ...string) []model.KV {
	var out []model.KV
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, model.KV{Key: pairs[i], Value: pairs[i+1]})
	}
	return out
}

func TestParseQuery(t *testing.T) {
	tests := []struct {
		name, url string
		want      []model.KV
	}{
		{"no query", "https://x.test/a", nil},
		{"pairs in order", "https://x.test/a?b=2&a=1&b=3", kvs("b", "2", "a", "1", "b", "3")},
		{"values kept as written", "http://x?q=a%20b+c&e=%zz", kvs("q", "a%20b+c", "e", "%zz")},
		{"variables kept", "{{base}}/u?id={{id}}&{{k}}={{v}}", kvs("id", "{{id}}", "{{k}}", "{{v}}")},
		{"a key without value", "x?flag&a=", kvs("flag", "", "a", "")},
		{"split on the first equals sign", "x?t=a=b", kvs("t", "a=b")},
		{"fragment not part of the query", "x?a=1#frag?b=2", kvs("a", "1")},
		{"question mark in the fragment only", "x#f?a=1", nil},
		{"empty pieces skipped", "x?&a=1&&=&b=2&", kvs("a", "1", "b", "2")},
		{"invalid URL tolerated", "ht tp://[::1?a=1", kvs("a", "1")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ParseQuery(tt.url); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("ParseQuery(%q) = %v, want %v", tt.url, got, tt.want)
			}
		})
	}
}

func TestWithQuery(t *testing.T) {
	tests := []struct {
		name, url string
		params    []model.KV
		want      string
	}{
		{"replaces the query", "http://x/a?old=1", kvs("n", "2"), "http://x/a?n=2"},
		{"keeps the fragment", "http://x/a?old=1#top", kvs("n", "2"), "http://x/a?n=2#top"},
		{"no params removes the query", "http://x/a?old=1#top", nil, "http://x/a#top"},
		{"disabled params are left out", "http://x", []model.KV{{Key: "a", Value: "1", Disabled: true}, {Key: "b", Value: "2"}}, "http://x?b=2"},
		{"an empty value gives a bare key", "http://x", kvs("flag", ""), "http://x?flag"},
		{"variables kept", "{{base}}/u", kvs("id", "{{id}}"), "{{base}}/u?id={{id}}"},
		{"structure characters encoded", "http://x", kvs("a&b=c#", "d&e#f=g"), "http://x?a%26b%3Dc%23=d%26e%23f=g"},
		{"spaces left for Send to encode", "http://x", kvs("q", "a b"), "http://x?q=a b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := WithQuery(tt.url, tt.params); got != tt.want {
				t.Fatalf("WithQuery(%q) = %q, want %q", tt.url, got, tt.want)
			}
		})
	}
}

func TestQueryRoundTrip(t *testing.T) {
	for _, u := range []string{
		"https://api.test/v1/users?page=2&per_page=50&sort=-created",
		"{{base}}/search?q={{term}}&flag&x=a%20b+c#section",
		"http://x/path?a=1=2&b=%zz&c=",
	} {
		got := WithQuery(u, ParseQuery(u))
		if u != got && !strings.HasSuffix(u, "&c=") {
			t.Errorf("WithQuery(u, ParseQuery(u)) = %q, want %q", got, u)
		}
		if !reflect.DeepEqual(ParseQuery(got), ParseQuery(u)) {
			t.Errorf("params of %q changed: %v -> %v", u, ParseQuery(u), ParseQuery(got))
		}
	}
}

func FuzzQuery(f *testing.F) {
	for _, s := range []string{"http://x?a=1&b=2", "{{b}}?q={{v}}#f", "?&=&", "x#?a", "a?b?c=d=e", "%zz?%&#"} {
		f.Add(s, "k", "v")
	}
	f.Fuzz(func(t *testing.T, u, key, value string) {
		params := ParseQuery(u)
		u2 := WithQuery(u, params)
		if !reflect.DeepEqual(ParseQuery(u2), params) {
			t.Fatalf("params changed through WithQuery: %q %v -> %q %v", u, params, u2, ParseQuery(u2))
		}
		if WithQuery(u2, ParseQuery(u2)) != u2 {
			t.Fatalf("WithQuery not stable on %q", u2)
		}
		// A row typed in the table comes back, with only the structure
		// characters encoded.
		row := model.KV{Key: key, Value: value}
		got := ParseQuery(WithQuery(u, []model.KV{row}))
		want := []model.KV{{Key: keyEscaper.Replace(key), Value: valueEscaper.Replace(value)}}
		if key == "" && value == "" {
			want = nil
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("row %q=%q came back as %v", key, value, got)
		}
	})
}

func TestParseHeaderLine(t *testing.T) {
	tests := []struct {
		name, line string
		want       model.KV
	}{
		{"name and value", "Content-Type: application/json", model.KV{Key: "Content-Type", Value: "application/json"}},
		{"spaces trimmed", "  X-A  :   b c  ", model.KV{Key: "X-A", Value: "b c"}},
		{"colon in the value", "X-Time: 12:30:00", model.KV{Key: "X-Time", Value: "12:30:00"}},
		{"empty value", "X-Empty:", model.KV{Key: "X-Empty"}},
		{"curl's semicolon form", "X-Empty;", model.KV{Key: "X-Empty"}},
		{"variables in the name", "{{hdr}}: {{v}}", model.KV{Key: "{{hdr}}", Value: "{{v}}"}},
		{"trailing line break dropped", "A: b\r\n", model.KV{Key: "A", Value: "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseHeaderLine(tt.line)
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("ParseHeaderLine(%q) = %+v, %v; want %+v", tt.line, got, err, tt.want)
			}
		})
	}
	for _, bad := range []string{"", "no colon", ": value", "bad name: v", "A: b\nC: d", "X(1): v", "A;b", "{{}}: v", "{{a}b}}: v", "{{\x00}}: v", "{{a\tb}}: v"} {
		t.Run("rejects "+bad, func(t *testing.T) {
			if _, err := ParseHeaderLine(bad); !errors.Is(err, model.ErrInvalid) {
				t.Fatalf("ParseHeaderLine(%q) error %v, want ErrInvalid", bad, err)
			}
		})
	}
}

func FuzzParseHeaderLine(f *testing.F) {
	for _, s := range []string{"A: b", "X;", ":", "{{a}}: {{b}}", "a\x00: b", "é: ü"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		kv, err := ParseHeaderLine(line)
		if err != nil {
			if !errors.Is(err, model.ErrInvalid) {
				t.Fatalf("error outside the vocabulary: %v", err)
			}
			return
		}
		if kv.Key == "" || strings.ContainsAny(kv.Key+kv.Value, "\r\n\x00") {
			t.Fatalf("accepted an unsendable header %+v from %q", kv, line)
		}
		again, err := ParseHeaderLine(kv.Key + ": " + kv.Value)
		if err != nil || !reflect.DeepEqual(again, kv) {
			t.Fatalf("%+v does not parse back: %+v, %v", kv, again, err)
		}
	})
}
