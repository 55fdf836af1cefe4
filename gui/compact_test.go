package gui

import (
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

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

// TestDigitsNameTheirFont checks that number columns name the monospace
// font (one font parsed for them) instead of asking for the monospace
// style, which also parses the emoji font and a system font.
func TestDigitsNameTheirFont(t *testing.T) {
	test.NewTempApp(t)
	row := newRow(true)
	seq := row.Objects[0].(*canvas.Text)
	if seq.FontSource == nil {
		t.Error("the Ready list's sequence numbers ask for the monospace style, not its font")
	}
	if msg := row.Objects[1].(*canvas.Text); msg.FontSource != nil {
		t.Error("a message is drawn with a named font: it would lose the fallback fonts for text not in it")
	}
	cells := newAuctionRow(false)
	for _, i := range []int{acPrice, acAccepted, acRefused} {
		if cells.Objects[i].(*canvas.Text).FontSource == nil {
			t.Errorf("auction column %s asks for the monospace style, not its font", auctionHeaders[i])
		}
	}
}
