package ui

import (
	"image/color"
	"strings"
	"unicode/utf8"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// wrapColumns is where long lines are broken for display, so a minified
// body of one huge line never becomes one huge row of cells.
const wrapColumns = 200

// themeStyle colours a text grid cell with a theme colour, looked up when
// the cell is drawn so a theme change recolours it.
type themeStyle struct{ name fyne.ThemeColorName }

func (s themeStyle) TextColor() color.Color {
	return theme.Color(s.name)
}

func (s themeStyle) BackgroundColor() color.Color { return color.Transparent }

func (s themeStyle) Style() fyne.TextStyle { return fyne.TextStyle{Monospace: true} }

// JSON token styles.
var (
	styleKey    widget.TextGridStyle = themeStyle{theme.ColorNamePrimary}
	styleString widget.TextGridStyle = themeStyle{theme.ColorNameSuccess}
	styleNumber widget.TextGridStyle = themeStyle{theme.ColorNameWarning}
	styleLit    widget.TextGridStyle = themeStyle{theme.ColorNameError}
	stylePunct  widget.TextGridStyle = themeStyle{theme.ColorNameForeground}
)

// newTextView returns a scrolling, virtualised monospace text grid (only
// the visible rows are drawn) for response bodies.
func newTextView() *widget.TextGrid {
	g := widget.NewTextGrid()
	g.Scroll = fyne.ScrollBoth
	return g
}

// plainRows splits text into grid rows, breaking lines longer than
// wrapColumns. Invalid UTF-8 shows as the replacement character.
func plainRows(text string) []widget.TextGridRow {
	lines := strings.Split(text, "\n")
	rows := make([]widget.TextGridRow, 0, len(lines))
	for _, line := range lines {
		line = strings.TrimSuffix(line, "\r")
		cells := make([]widget.TextGridCell, 0, utf8.RuneCountInString(line))
		for _, r := range line {
			if r == '\t' {
				r = ' '
			}
			cells = append(cells, widget.TextGridCell{Rune: r})
		}
		rows = appendWrapped(rows, cells)
	}
	return rows
}

// jsonRows splits pretty JSON text into grid rows coloured by token:
// object keys, strings, numbers, literals (true, false, null), punctuation.
func jsonRows(text string) []widget.TextGridRow {
	lines := strings.Split(text, "\n")
	rows := make([]widget.TextGridRow, 0, len(lines))
	for _, line := range lines {
		rows = appendWrapped(rows, colourJSONLine(line))
	}
	return rows
}

func appendWrapped(rows []widget.TextGridRow, cells []widget.TextGridCell) []widget.TextGridRow {
	for len(cells) > wrapColumns {
		rows = append(rows, widget.TextGridRow{Cells: cells[:wrapColumns:wrapColumns]})
		cells = cells[wrapColumns:]
	}
	return append(rows, widget.TextGridRow{Cells: cells})
}

// colourJSONLine styles the tokens of one line of indented JSON.
func colourJSONLine(line string) []widget.TextGridCell {
	rs := []rune(line)
	cells := make([]widget.TextGridCell, len(rs))
	for i := 0; i < len(rs); {
		switch c := rs[i]; {
		case c == '"':
			end := stringEnd(rs, i)
			st := styleString
			if isKey(rs, end) {
				st = styleKey
			}
			fill(cells, rs, i, end, st)
			i = end
		case c == '-' || (c >= '0' && c <= '9'):
			end := i + 1
			for end < len(rs) && strings.ContainsRune("0123456789.eE+-", rs[end]) {
				end++
			}
			fill(cells, rs, i, end, styleNumber)
			i = end
		case c >= 'a' && c <= 'z':
			end := i + 1
			for end < len(rs) && rs[end] >= 'a' && rs[end] <= 'z' {
				end++
			}
			fill(cells, rs, i, end, styleLit)
			i = end
		default:
			fill(cells, rs, i, i+1, stylePunct)
			i++
		}
	}
	return cells
}

// stringEnd returns the index just past the string literal starting at i.
func stringEnd(rs []rune, i int) int {
	for j := i + 1; j < len(rs); j++ {
		switch rs[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(rs)
}

// isKey reports whether the string ending before i is followed by a colon.
func isKey(rs []rune, i int) bool {
	for ; i < len(rs); i++ {
		if rs[i] != ' ' {
			return rs[i] == ':'
		}
	}
	return false
}

func fill(cells []widget.TextGridCell, rs []rune, from, to int, st widget.TextGridStyle) {
	for k := from; k < to && k < len(rs); k++ {
		cells[k] = widget.TextGridCell{Rune: rs[k], Style: st}
	}
}
