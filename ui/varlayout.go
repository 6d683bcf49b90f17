package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
)

// The variables table. In the sidebar at its usual width, a name, a value
// and the row's checkboxes on one line leave each field about a third of
// the panel, which clips most URLs and tokens. So the rows lay out by the
// width the table has: with room for two fields of varFieldMin beside the
// checkboxes, name and value share a line; narrower, the value takes a
// line of its own, the width of the table, under the name.

// varFieldMin is the narrowest a name or value field is given beside the
// other.
const varFieldMin float32 = 200

// varGap is the space under a row whose value has a line of its own.
func varGap() float32 { return 3 * theme.Padding() }

// varColumns is what the rows of one table share: whether name and value
// are side by side, as the table's width last decided.
type varColumns struct{ wide bool }

// varRowLayout lays out a row of three objects: name, value, and the
// row's controls (checkboxes, delete), by cols.
type varRowLayout struct{ cols *varColumns }

func (l varRowLayout) MinSize(objs []fyne.CanvasObject) fyne.Size {
	if len(objs) != 3 {
		return fyne.Size{}
	}
	pad := theme.Padding()
	n, v, c := objs[0].MinSize(), objs[1].MinSize(), objs[2].MinSize()
	if l.cols.wide {
		return fyne.NewSize(n.Width+v.Width+c.Width+2*pad, max(n.Height, v.Height, c.Height))
	}
	// Stacked, the space under the value sets one variable off from the
	// next.
	return fyne.NewSize(max(n.Width+pad+c.Width, v.Width), max(n.Height, c.Height)+pad+v.Height+varGap())
}

func (l varRowLayout) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	if len(objs) != 3 {
		return
	}
	pad := theme.Padding()
	name, value, ctl := objs[0], objs[1], objs[2]
	c := ctl.MinSize()
	if l.cols.wide {
		h := size.Height
		field := (size.Width - c.Width - 2*pad) / 2
		name.Move(fyne.NewPos(0, 0))
		name.Resize(fyne.NewSize(field, h))
		value.Move(fyne.NewPos(field+pad, 0))
		value.Resize(fyne.NewSize(field, h))
		ctl.Move(fyne.NewPos(size.Width-c.Width, 0))
		ctl.Resize(fyne.NewSize(c.Width, h))
		return
	}
	h := max(name.MinSize().Height, c.Height)
	name.Move(fyne.NewPos(0, 0))
	name.Resize(fyne.NewSize(size.Width-c.Width-pad, h))
	ctl.Move(fyne.NewPos(size.Width-c.Width, 0))
	ctl.Resize(fyne.NewSize(c.Width, h))
	value.Move(fyne.NewPos(0, h+pad))
	value.Resize(fyne.NewSize(size.Width, size.Height-h-pad-varGap()))
}

// varTableLayout fills its one object (the table's scroll) and decides
// cols.wide by its width, given ctl, the width of a row's controls.
type varTableLayout struct {
	cols *varColumns
	ctl  func() float32
}

func (l varTableLayout) MinSize(objs []fyne.CanvasObject) fyne.Size {
	if len(objs) == 0 {
		return fyne.Size{}
	}
	return objs[0].MinSize()
}

func (l varTableLayout) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	wide := size.Width >= 2*varFieldMin+l.ctl()+2*theme.Padding()
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
