package gui

import (
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"totalorder/middleware"
	"totalorder/timeline"
)

// TestCompactSpacing checks that a compact box spaces its texts as the
// compact theme it replaces did: compactPadding above the first text, and
// 3×compactPadding between one text and the next (the first label's inner
// padding, the gap, the next label's); a hidden label takes no room.
func TestCompactSpacing(t *testing.T) {
	test.NewTempApp(t)
	if theme.InnerPadding() <= compactPadding {
		t.Fatalf("the test theme's inner padding %v leaves nothing to trim", theme.InnerPadding())
	}
	first, hidden, second := widget.NewLabel("first"), widget.NewLabel("hidden"), newInfoLabel("second")
	hidden.Hide()
	box := newCompact(first, hidden, second)
	w := test.NewTempWindow(t, container.NewVBox(box))
	w.Resize(fyne.NewSize(300, 200))

	d := fyne.CurrentApp().Driver()
	top := d.AbsolutePositionForObject(box).Y
	t1, t2 := drawnText(first, "first"), drawnText(second, "second")
	if t1 == nil || t2 == nil {
		t.Fatal("the labels' texts are not drawn")
	}
	y1, y2 := d.AbsolutePositionForObject(t1).Y, d.AbsolutePositionForObject(t2).Y
	if got := y1 - top; got != compactPadding {
		t.Errorf("first text %v below the box's top, want %v", got, compactPadding)
	}
	if got := y2 - (y1 + t1.Size().Height); got != 3*compactPadding {
		t.Errorf("second text %v below the first, want %v", got, 3*compactPadding)
	}
	// The box is as tall as what it shows, compactPadding under the last text.
	if got, want := box.MinSize().Height, y2+t2.Size().Height+compactPadding-top; got != want {
		t.Errorf("box min height %v, want %v (to compactPadding under the last text)", got, want)
	}
	vbox := container.NewVBox(widget.NewLabel("first"), newInfoLabel("second")).MinSize().Height
	if box.MinSize().Height >= vbox {
		t.Errorf("compact box %v high, not less than a VBox of the same labels (%v)", box.MinSize().Height, vbox)
	}
}

// TestNoThemeOverride checks that no window uses container.ThemeOverride:
// Fyne parses the fonts again for each override and each of its refreshes
// and never frees them (see compact.go), which made a middleware window's
// memory grow by about 8 MB a style with every relayout.
func TestNoThemeOverride(t *testing.T) {
	mw, _ := newTestMiddlewareWindow(t, 1)
	nw, _ := newTestNetworkWindow(t)
	tw := newTestTimeline(t, timeline.NewDirSource(run1Dir), TimelineOptions{})
	for _, win := range []fyne.Window{mw.Window(), nw.Window(), tw.Window()} {
		found := 0
		walkObjects(win.Content(), func(o fyne.CanvasObject) {
			if _, ok := o.(*container.ThemeOverride); ok {
				found++
			}
		})
		if found > 0 {
			t.Errorf("window %q has %d theme overrides, want none (newCompact packs text closer)", win.Title(), found)
		}
	}
}

// walkObjects calls fn on o and everything under it: a container's
// objects and a widget's rendered ones.
func walkObjects(o fyne.CanvasObject, fn func(fyne.CanvasObject)) {
	fn(o)
	switch o := o.(type) {
	case *fyne.Container:
		for _, c := range o.Objects {
			walkObjects(c, fn)
		}
	case fyne.Widget:
		for _, c := range test.WidgetRenderer(o).Objects() {
			walkObjects(c, fn)
		}
	}
}

// TestTextStyles checks that the windows draw text in the regular and
// bold styles only (bold is every button's), numbers in a named font
// (newDigits): each further style costs each process about 8 MB of fonts.
func TestTextStyles(t *testing.T) {
	mw, f := newTestMiddlewareWindow(t, 1)
	f.emit([]middleware.Event{
		{Kind: middleware.EventSent, Msg: "Msg #1 from Middleware 1"},
		{Kind: middleware.EventReceived, Msg: "Msg #1 from Middleware 1"},
		{Kind: middleware.EventReady, Msg: "Msg #1 from Middleware 1", Seq: 1},
	})
	mw.flush()
	mw.tabs.SelectIndex(tabAuction) // its table and buttons
	nw, _ := newTestNetworkWindow(t)
	tw := newTestTimeline(t, timeline.NewDirSource(run1Dir), TimelineOptions{})
	named := 0
	for _, win := range []fyne.Window{mw.Window(), nw.Window(), tw.Window()} {
		win.Resize(fyne.NewSize(700, 560))
		walkObjects(win.Content(), func(o fyne.CanvasObject) {
			text, ok := o.(*canvas.Text)
			if !ok || text.Text == "" {
				return
			}
			if text.FontSource != nil {
				named++
				return
			}
			if s := text.TextStyle; s != (fyne.TextStyle{}) && s != (fyne.TextStyle{Bold: true}) {
				t.Errorf("%s: %q drawn in style %+v, want regular or bold (or a named font)", win.Title(), text.Text, s)
			}
		})
	}
	// The auction's prices and counts (five items), the Network window's
	// counters and percentages; the lists' rows are checked below.
	if want := 3*5 + numCounters + 1 + 2; named < want {
		t.Errorf("%d texts in a named font, want the numbers' (at least %d)", named, want)
	}
}

// TestRowFonts checks that a Ready row's sequence number is drawn in a
// named font, and its message is not: that would lose the fallback fonts
// for text not in the font (a foreign message may be anything).
func TestRowFonts(t *testing.T) {
	test.NewTempApp(t)
	row := newRow(true)
	if seq := row.Objects[0].(*canvas.Text); seq.FontSource == nil {
		t.Error("the sequence number asks for the monospace style, not its font")
	}
	if msg := row.Objects[1].(*canvas.Text); msg.FontSource != nil {
		t.Error("a message is drawn with a named font")
	}
}
