package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
)

// Tables of name-value pairs in the sidebar (variables, a header preset's
// headers). At the sidebar's usual width, a name, a value and the row's
// controls on one line leave each field about a third of the panel,
// which clips most URLs and tokens. So their rows lay out by the width
// the table has: with room for two fields of pairFieldMin beside the
// controls, name and value share a line; narrower, the value takes a line
// of its own, the width of the table, under the name.

// pairFieldMin is the narrowest a name or value field is given beside
// the other.
const pairFieldMin float32 = 200

// pairGap is the space under a row whose value has a line of its own,
// which sets it off from the next.
func pairGap() float32 { return 3 * theme.Padding() }

// pairColumns is what the rows of one table share: whether name and
// value are side by side, as the table's width last decided. A nil one
// keeps them side by side.
type pairColumns struct {
	wide bool
	// ctl is the width of a row's controls, measured at the first layout.
	ctl float32
}

func (c *pairColumns) sideBySide() bool { return c == nil || c.wide }

// pairRowLayout lays out a row of a name, a value and the row's
// controls, with an optional leading control (a checkbox) first:
// [lead,] name, value, trail. Side by side, the name and value share
// what the controls leave; stacked, the value lies under the rest, from
// the name's left edge to the row's right one.
type pairRowLayout struct{ cols *pairColumns }

// parts splits objs into the leading control (nil without one), name,
// value and trailing controls.
func (pairRowLayout) parts(objs []fyne.CanvasObject) (lead, name, value, trail fyne.CanvasObject, ok bool) {
	switch len(objs) {
	case 3:
		return nil, objs[0], objs[1], objs[2], true
	case 4:
		return objs[0], objs[1], objs[2], objs[3], true
	}
	return nil, nil, nil, nil, false
}

// leadWidth is the width of lead and the padding after it (0 without).
func leadWidth(lead fyne.CanvasObject) (float32, float32) {
	if lead == nil {
		return 0, 0
	}
	return lead.MinSize().Width + theme.Padding(), lead.MinSize().Height
}

func (l pairRowLayout) MinSize(objs []fyne.CanvasObject) fyne.Size {
	lead, name, value, trail, ok := l.parts(objs)
	if !ok {
		return fyne.Size{}
	}
	pad := theme.Padding()
	lw, lh := leadWidth(lead)
	n, v, c := name.MinSize(), value.MinSize(), trail.MinSize()
	if l.cols.sideBySide() {
		return fyne.NewSize(lw+n.Width+v.Width+c.Width+2*pad, max(lh, n.Height, v.Height, c.Height))
	}
	return fyne.NewSize(lw+max(n.Width+pad+c.Width, v.Width), max(lh, n.Height, c.Height)+pad+v.Height+pairGap())
}

func (l pairRowLayout) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	lead, name, value, trail, ok := l.parts(objs)
	if !ok {
		return
	}
	pad := theme.Padding()
	lw, lh := leadWidth(lead)
	c := trail.MinSize()
	place := func(o fyne.CanvasObject, x, y, w, h float32) {
		o.Move(fyne.NewPos(x, y))
		o.Resize(fyne.NewSize(w, h))
	}
	h := size.Height // of the first line
	if !l.cols.sideBySide() {
		h = max(lh, name.MinSize().Height, c.Height)
	}
	if lead != nil {
		place(lead, 0, 0, lw-pad, h)
	}
	place(trail, size.Width-c.Width, 0, c.Width, h)
	if l.cols.sideBySide() {
		field := (size.Width - lw - c.Width - 2*pad) / 2
		place(name, lw, 0, field, h)
		place(value, lw+field+pad, 0, field, h)
		return
	}
	place(name, lw, 0, size.Width-lw-c.Width-pad, h)
	place(value, lw, h+pad, size.Width-lw, size.Height-h-pad-pairGap())
}

// pairTableLayout fills its one object (the table's scroll) and decides
// cols.wide by its width, given ctl, which measures a row's controls.
type pairTableLayout struct {
	cols *pairColumns
	ctl  func() float32
}

func (l pairTableLayout) MinSize(objs []fyne.CanvasObject) fyne.Size {
	if len(objs) == 0 {
		return fyne.Size{}
	}
	return objs[0].MinSize()
}

func (l pairTableLayout) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	if l.cols.ctl == 0 {
		l.cols.ctl = l.ctl() // builds widgets to measure them: once
	}
	wide := size.Width >= 2*pairFieldMin+l.cols.ctl+2*theme.Padding()
	flipped := wide != l.cols.wide
	l.cols.wide = wide
	for _, o := range objs {
		o.Move(fyne.NewPos(0, 0))
		o.Resize(size)
		if flipped {
			// The rows' heights follow: the scroll asks them again.
			o.Refresh()
		}
	}
}
