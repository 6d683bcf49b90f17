package ui

import (
	"context"
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/model"
)

// collectionsCore is what the Collections sidebar needs from the core.
type collectionsCore interface {
	Collections(ctx context.Context) ([]model.Collection, error)
	Tree(ctx context.Context, id model.ID) (*app.Tree, error)
	Request(ctx context.Context, id model.ID) (model.Request, error)
	CreateCollection(ctx context.Context, name string) (model.Collection, error)
	CreateFolder(ctx context.Context, parent model.ID, name string) (model.Folder, error)
	SaveRequest(ctx context.Context, req model.Request) (model.Request, error)
	Rename(ctx context.Context, kind model.Kind, id model.ID, name string) error
	Duplicate(ctx context.Context, kind model.Kind, id model.ID) (model.ID, error)
	Delete(ctx context.Context, kind model.Kind, id model.ID) error
	Move(ctx context.Context, kind model.Kind, id, newParent model.ID, index int) error
}

// colNode is one row of the collections tree.
type colNode struct {
	Kind       model.Kind
	ID         model.ID
	Name       string
	Method     string
	Collection model.ID
	Parent     model.ID // the collection or folder holding it; "" for a collection
	Index      int      // position among its siblings
	Children   []string
}

// colData is the whole tree, keyed by node ID; "" is the root, whose
// children are the collections.
type colData map[string]colNode

// destination is a place a request or folder can be saved or moved to.
type destination struct {
	Label      string
	Collection model.ID
	Parent     model.ID
}

// destinations lists every collection and folder as "Collection / Folder".
func (d colData) destinations() []destination {
	var out []destination
	var walk func(id string, path string)
	walk = func(id string, path string) {
		n := d[id]
		if n.Kind == model.KindRequest {
			return
		}
		if id != "" {
			path = strings.TrimPrefix(path+" / "+n.Name, " / ")
			out = append(out, destination{Label: path, Collection: n.Collection, Parent: n.ID})
		}
		for _, c := range n.Children {
			walk(c, path)
		}
	}
	walk("", "")
	return out
}

// loadCollections reads every collection tree; it runs off the UI goroutine.
func loadCollections(ctx context.Context, core collectionsCore) (colData, error) {
	cs, err := core.Collections(ctx)
	if err != nil {
		return nil, err
	}
	d := colData{"": {}}
	root := d[""]
	for i, c := range cs {
		t, err := core.Tree(ctx, c.ID)
		if err != nil {
			return nil, err
		}
		id := string(c.ID)
		n := colNode{Kind: model.KindCollection, ID: c.ID, Name: c.Name, Collection: c.ID, Index: i}
		n.Children = addNodes(d, t.Root, c.ID, c.ID)
		d[id] = n
		root.Children = append(root.Children, id)
	}
	d[""] = root
	return d, nil
}

func addNodes(d colData, nodes []*app.Node, coll, parent model.ID) []string {
	ids := make([]string, 0, len(nodes))
	for i, n := range nodes {
		c := colNode{Kind: n.Kind, ID: n.ID(), Name: n.Name(), Collection: coll, Parent: parent, Index: i}
		if n.Request != nil {
			c.Method = n.Request.Method
		}
		c.Children = addNodes(d, n.Children, coll, n.ID())
		d[string(c.ID)] = c
		ids = append(ids, string(c.ID))
	}
	return ids
}

// collectionsPanel is the Collections sidebar: a tree of collections,
// folders and requests with a menu of actions.
type collectionsPanel struct {
	core     collectionsCore
	win      fyne.Window
	bg       *tasks
	data     colData
	tree     *widget.Tree
	opened   bool // the collections were opened once, at the first load
	selected string
	content  fyne.CanvasObject

	// OnOpen opens a saved request in a tab.
	OnOpen func(model.Request)
}

func newCollectionsPanel(core collectionsCore, win fyne.Window, bg *tasks) *collectionsPanel {
	p := &collectionsPanel{core: core, win: win, bg: bg, data: colData{"": {}}}
	p.tree = widget.NewTree(p.childIDs, p.isBranch, p.createItem, p.updateItem)
	p.tree.OnSelected = p.onSelected
	newBtn := widget.NewButtonWithIcon("Collection", theme.ContentAddIcon(), p.onNewCollectionTapped)
	var actions *widget.Button
	actions = widget.NewButtonWithIcon("", theme.MoreHorizontalIcon(), func() { p.showMenu(p.selected, actions) })
	p.content = container.NewBorder(container.NewBorder(nil, nil, nil, actions, newBtn), nil, nil, nil, p.tree)
	return p
}

// Content is the panel's widget tree.
func (p *collectionsPanel) Content() fyne.CanvasObject { return p.content }

// Reload reads the trees in the background and shows them.
func (p *collectionsPanel) Reload() {
	p.bg.Go(func() func() {
		d, err := loadCollections(context.Background(), p.core)
		return func() {
			if err != nil {
				showError(p.win, "load the collections", err)
				return
			}
			p.show(d)
		}
	})
}

func (p *collectionsPanel) show(d colData) {
	p.data = d
	if _, ok := d[p.selected]; !ok {
		p.selected = ""
	}
	p.tree.Refresh()
	if !p.opened && len(d[""].Children) > 0 {
		p.opened = true
		for _, id := range d[""].Children {
			p.tree.OpenBranch(id)
		}
	}
}

func (p *collectionsPanel) childIDs(id widget.TreeNodeID) []widget.TreeNodeID {
	return p.data[id].Children
}

func (p *collectionsPanel) isBranch(id widget.TreeNodeID) bool {
	n, ok := p.data[id]
	return id == "" || ok && n.Kind != model.KindRequest
}

func (p *collectionsPanel) createItem(bool) fyne.CanvasObject {
	return newTreeItem(p.onItemTapped, p.showMenu)
}

// onItemTapped selects a row (opening a request) and opens or closes a
// collection or folder.
func (p *collectionsPanel) onItemTapped(id string) {
	if p.isBranch(id) {
		p.tree.ToggleBranch(id)
	}
	if p.selected == id && !p.isBranch(id) {
		p.onSelected(id) // tapping the selected request again opens it again
		return
	}
	p.tree.Select(id)
}

func (p *collectionsPanel) updateItem(id widget.TreeNodeID, _ bool, o fyne.CanvasObject) {
	n := p.data[id]
	o.(*treeItem).Set(id, n.Method, n.Name, n.Kind)
}

func (p *collectionsPanel) onSelected(id widget.TreeNodeID) {
	p.selected = id
	n := p.data[id]
	if n.Kind != model.KindRequest || p.OnOpen == nil {
		return
	}
	p.bg.Go(func() func() {
		req, err := p.core.Request(context.Background(), n.ID)
		return func() {
			if err != nil {
				showError(p.win, "open the request", err)
				return
			}
			p.OnOpen(req)
		}
	})
}

// showMenu pops up the actions for node id at anchor.
func (p *collectionsPanel) showMenu(id string, anchor fyne.CanvasObject) {
	p.selected = id
	m := fyne.NewMenu("", append(append(p.menuItems(id), p.importExportItems(id)...), p.shareItems(id)...)...)
	c := fyne.CurrentApp().Driver().CanvasForObject(anchor)
	if c == nil {
		c = p.win.Canvas()
	}
	pos := fyne.CurrentApp().Driver().AbsolutePositionForObject(anchor).Add(fyne.NewPos(0, anchor.Size().Height))
	widget.ShowPopUpMenuAtPosition(m, c, pos)
}

func (p *collectionsPanel) menuItems(id string) []*fyne.MenuItem {
	n, ok := p.data[id]
	if id == "" || !ok {
		return []*fyne.MenuItem{fyne.NewMenuItem("New collection", p.onNewCollectionTapped)}
	}
	var items []*fyne.MenuItem
	if n.Kind != model.KindRequest {
		items = append(items,
			fyne.NewMenuItem("New request", func() { p.newRequest(n.Collection, n.ID) }),
			fyne.NewMenuItem("New folder", func() { p.onNewFolderTapped(n) }),
			fyne.NewMenuItemSeparator())
	}
	items = append(items,
		fyne.NewMenuItem("Rename…", func() { p.onRenameTapped(n) }),
		fyne.NewMenuItem("Duplicate", func() { p.duplicate(n) }))
	if n.Kind != model.KindCollection {
		up := fyne.NewMenuItem("Move up", func() { p.move(n, n.Parent, n.Index-1) })
		up.Disabled = n.Index == 0
		down := fyne.NewMenuItem("Move down", func() { p.move(n, n.Parent, n.Index+1) })
		down.Disabled = n.Index >= len(p.data[string(n.Parent)].Children)-1
		items = append(items, up, down, fyne.NewMenuItem("Move to…", func() { p.onMoveToTapped(n) }))
	}
	items = append(items, fyne.NewMenuItemSeparator(), fyne.NewMenuItem("Delete…", func() { p.onDeleteTapped(n) }))
	return items
}

func (p *collectionsPanel) onNewCollectionTapped() {
	askName(p.win, "New collection", "Name", "", p.createCollection)
}

func (p *collectionsPanel) onNewFolderTapped(parent colNode) {
	askName(p.win, "New folder in "+parent.Name, "Name", "", func(name string) { p.createFolder(parent.ID, name) })
}

func (p *collectionsPanel) onRenameTapped(n colNode) {
	askName(p.win, "Rename", "Name", n.Name, func(name string) { p.rename(n, name) })
}

func (p *collectionsPanel) onDeleteTapped(n colNode) {
	msg := fmt.Sprintf("Delete %s %q", n.Kind, n.Name)
	if n.Kind != model.KindRequest {
		msg += " and everything in it"
	}
	dialog.ShowConfirm("Delete", msg+"?", func(ok bool) {
		if ok {
			p.delete(n)
		}
	}, p.win)
}

func (p *collectionsPanel) onMoveToTapped(n colNode) {
	var labels []string
	dests := map[string]destination{}
	for _, d := range p.data.destinations() {
		if d.Parent == n.ID || strings.HasPrefix(d.Label+" / ", p.pathOf(n)+" / ") && n.Kind == model.KindFolder {
			continue // not into itself or below itself
		}
		labels = append(labels, d.Label)
		dests[d.Label] = d
	}
	sel := widget.NewSelect(labels, nil)
	items := []*widget.FormItem{widget.NewFormItem("Move to", sel)}
	dialog.ShowForm("Move "+n.Name, "Move", "Cancel", items, func(ok bool) {
		if d, found := dests[sel.Selected]; ok && found {
			p.move(n, d.Parent, -1)
		}
	}, p.win)
}

// pathOf returns the "Collection / Folder" path of n.
func (p *collectionsPanel) pathOf(n colNode) string {
	parts := []string{n.Name}
	for id := n.Parent; id != ""; id = p.data[string(id)].Parent {
		parts = append([]string{p.data[string(id)].Name}, parts...)
	}
	return strings.Join(parts, " / ")
}

// The actions below run the core call in the background, then reload.

func (p *collectionsPanel) run(action string, call func(ctx context.Context) error) {
	p.bg.Go(func() func() {
		err := call(context.Background())
		d, lerr := loadCollections(context.Background(), p.core)
		return func() {
			if err != nil {
				showError(p.win, action, err)
			}
			if lerr == nil {
				p.show(d)
			}
		}
	})
}

func (p *collectionsPanel) createCollection(name string) {
	p.run("create the collection", func(ctx context.Context) error {
		_, err := p.core.CreateCollection(ctx, name)
		return err
	})
}

func (p *collectionsPanel) createFolder(parent model.ID, name string) {
	p.run("create the folder", func(ctx context.Context) error {
		_, err := p.core.CreateFolder(ctx, parent, name)
		return err
	})
}

func (p *collectionsPanel) newRequest(coll, parent model.ID) {
	p.bg.Go(func() func() {
		req, err := p.core.SaveRequest(context.Background(), model.Request{Name: "New request", Method: "GET", Collection: coll, Parent: parent})
		d, lerr := loadCollections(context.Background(), p.core)
		return func() {
			if err != nil {
				showError(p.win, "create the request", err)
				return
			}
			if lerr == nil {
				p.show(d)
			}
			if p.OnOpen != nil {
				p.OnOpen(req)
			}
		}
	})
}

func (p *collectionsPanel) rename(n colNode, name string) {
	p.run("rename "+n.Name, func(ctx context.Context) error { return p.core.Rename(ctx, n.Kind, n.ID, name) })
}

func (p *collectionsPanel) duplicate(n colNode) {
	p.run("duplicate "+n.Name, func(ctx context.Context) error {
		_, err := p.core.Duplicate(ctx, n.Kind, n.ID)
		return err
	})
}

func (p *collectionsPanel) delete(n colNode) {
	p.run("delete "+n.Name, func(ctx context.Context) error { return p.core.Delete(ctx, n.Kind, n.ID) })
}

func (p *collectionsPanel) move(n colNode, parent model.ID, index int) {
	p.run("move "+n.Name, func(ctx context.Context) error { return p.core.Move(ctx, n.Kind, n.ID, parent, index) })
}

// treeItem is one row of the collections tree: the method of a request and
// the name. A right-click opens the actions menu. It handles the primary
// tap too: the desktop driver gives a click to the topmost object that
// takes any kind of tap, so a row that only took right-clicks would
// swallow left ones.
type treeItem struct {
	widget.BaseWidget
	id     string
	method *widget.Label
	name   *widget.Label
	icon   *widget.Icon
	tap    func(id string)
	menu   func(id string, anchor fyne.CanvasObject)
	// methodBox gives the method a fixed width, so names line up.
	methodBox *fyne.Container
}

func newTreeItem(tap func(string), menu func(string, fyne.CanvasObject)) *treeItem {
	t := &treeItem{method: widget.NewLabel(""), name: widget.NewLabel(""), icon: widget.NewIcon(nil), tap: tap, menu: menu}
	t.methodBox = container.NewStack(fixedWidthLabel("", 64), t.method)
	t.name.Truncation = fyne.TextTruncateEllipsis
	t.ExtendBaseWidget(t)
	return t
}

// Set shows one node.
func (t *treeItem) Set(id, method, name string, kind model.Kind) {
	t.id = id
	t.method.SetText(method)
	t.methodBox.Hidden = method == ""
	t.method.Importance = methodImportance(method)
	t.name.SetText(name)
	switch kind {
	case model.KindCollection:
		t.icon.SetResource(theme.StorageIcon())
	case model.KindFolder:
		t.icon.SetResource(theme.FolderIcon())
	default:
		t.icon.SetResource(nil)
	}
	t.icon.Hidden = kind == model.KindRequest
	t.Refresh()
}

// CreateRenderer lays out icon, method and name.
func (t *treeItem) CreateRenderer() fyne.WidgetRenderer {
	return widget.NewSimpleRenderer(container.NewBorder(nil, nil, container.NewHBox(t.icon, t.methodBox), nil, t.name))
}

// Tapped selects the row.
func (t *treeItem) Tapped(*fyne.PointEvent) {
	if t.tap != nil {
		t.tap(t.id)
	}
}

// TappedSecondary opens the actions menu of the row.
func (t *treeItem) TappedSecondary(*fyne.PointEvent) {
	if t.menu != nil {
		t.menu(t.id, t)
	}
}

// methodImportance colours HTTP methods the way API tools usually do.
func methodImportance(m string) widget.Importance {
	switch m {
	case "GET":
		return widget.SuccessImportance
	case "POST":
		return widget.WarningImportance
	case "PUT", "PATCH":
		return widget.HighImportance
	case "DELETE":
		return widget.DangerImportance
	}
	return widget.MediumImportance
}
