package ui

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"

	"fyne.io/fyne/v2/widget"

	"github.com/courierapp/courier/model"
)

func rowsText(rows []widget.TextGridRow) string {
	var b strings.Builder
	for i, r := range rows {
		if i > 0 {
			b.WriteByte('\n')
		}
		for _, c := range r.Cells {
			b.WriteRune(c.Rune)
		}
	}
	return b.String()
}

func cellCount(rows []widget.TextGridRow) int {
	n := 0
	for _, r := range rows {
		n += len(r.Cells)
	}
	return n
}

func TestPrepareResponse(t *testing.T) {
	big := bytes.Repeat([]byte("a"), 3<<20)
	bigJSON := append([]byte(`{"items":[`), bytes.Repeat([]byte(`"xxxxxxxxxx",`), 40000)...)
	bigJSON = append(bigJSON, []byte(`"end"]}`)...)
	binary := append([]byte{0x89, 'P', 'N', 'G', 0, 0, 0, 0x0d}, bytes.Repeat([]byte{0xff, 0x00}, 1<<20)...)
	tests := []struct {
		name       string
		in         responseInput
		wantPretty bool
		wantNote   string
		maxCells   int
		contains   string
	}{
		{"a JSON body is indented and coloured", responseInput{Response: model.Response{Status: 200}, Body: []byte(`{"a":[1,true,null]}`)},
			true, "", 100, `"a": [`},
		{"a text body shows raw", responseInput{Response: model.Response{Status: 200}, Body: []byte("hello\nworld")},
			false, "", 100, "hello\nworld"},
		{"a large body shows its first 256 KiB only", responseInput{Response: model.Response{Status: 200, Size: int64(len(big))}, Body: big},
			false, "Showing the first 256.0 KiB of 3.0 MiB.", displayLimit, "aaaa"},
		{"a body kept in a file shows its preview and says so", responseInput{Response: model.Response{Status: 200, Size: 50 << 20, Truncated: true}, Body: []byte("preview"), BodyFile: "/tmp/x"},
			false, "Showing the first 7 B of 50.0 MiB.", 100, "preview"},
		{"large JSON is formatted whole and its start shown", responseInput{Response: model.Response{Status: 200}, Body: bigJSON},
			true, "Showing the start of the 507.8 KiB body, formatted.", displayLimit, "{\n  \"items\": [\n    \"xxxxxxxxxx\","},
		{"JSON kept in a file shows its raw preview", responseInput{Response: model.Response{Status: 200, Size: 50 << 20, Truncated: true}, Body: bigJSON[:displayLimit+10], BodyFile: "/tmp/x"},
			false, "Showing the first 256.0 KiB of 50.0 MiB.", displayLimit, `"items"`},
		{"a binary body shows size, type and a hex preview", responseInput{Response: model.Response{Status: 200, ContentType: "image/png"}, Body: binary},
			false, "Binary body: 2.0 MiB, image/png.", 6 * hexLimit, "89 50 4e 47"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := prepareResponse(tt.in)
			if (d.Pretty != nil) != tt.wantPretty {
				t.Errorf("pretty view present = %v, want %v", d.Pretty != nil, tt.wantPretty)
			}
			if !strings.HasPrefix(d.Note, tt.wantNote) || (tt.wantNote == "" && d.Note != "") {
				t.Errorf("note = %q, want it to start with %q", d.Note, tt.wantNote)
			}
			rows := d.Raw
			if d.Pretty != nil {
				rows = d.Pretty
			}
			if n := cellCount(rows); n > tt.maxCells {
				t.Errorf("%d cells go to the widget, want at most %d", n, tt.maxCells)
			}
			if !strings.Contains(rowsText(rows), tt.contains) {
				t.Errorf("shown text lacks %q", tt.contains)
			}
		})
	}
}

func TestJSONColoursByToken(t *testing.T) {
	cells := colourJSONLine(`  "key": "value", "n": -1.5e3, "t": true`)
	styleAt := func(sub string) widget.TextGridStyle {
		i := strings.Index(`  "key": "value", "n": -1.5e3, "t": true`, sub)
		return cells[utf8.RuneCountInString(`  "key": "value", "n": -1.5e3, "t": true`[:i])].Style
	}
	for _, tt := range []struct {
		token string
		want  widget.TextGridStyle
	}{
		{`"key"`, styleKey}, {`"value"`, styleString}, {`-1.5e3`, styleNumber}, {`true`, styleLit}, {`:`, stylePunct},
	} {
		if got := styleAt(tt.token); got != tt.want {
			t.Errorf("%s styled %v, want %v", tt.token, got, tt.want)
		}
	}
}

func TestStatusColours(t *testing.T) {
	for code, want := range map[int]widget.Importance{
		204: widget.SuccessImportance, 304: widget.HighImportance, 418: widget.WarningImportance,
		503: widget.DangerImportance, 0: widget.DangerImportance,
	} {
		if got := statusImportance(code); got != want {
			t.Errorf("status %d coloured %v, want %v", code, got, want)
		}
	}
	if d := prepareResponse(responseInput{Err: "connection refused"}); d.Importance != widget.DangerImportance || d.Err == "" {
		t.Errorf("a transport error shows as %+v, want red with the error", d)
	}
}

func FuzzColourJSONLine(f *testing.F) {
	for _, s := range []string{`{"a": "b\"c"}`, `  "k": [1, -2.5e-3, true, null]`, `"unterminated`, "\xff\xfe", `\`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		cells := colourJSONLine(line)
		if len(cells) != utf8.RuneCountInString(line) {
			t.Fatalf("%d cells for %d runes", len(cells), utf8.RuneCountInString(line))
		}
		for _, r := range plainRows(line) {
			if len(r.Cells) > wrapColumns {
				t.Fatalf("a row of %d cells, over %d", len(r.Cells), wrapColumns)
			}
		}
	})
}
