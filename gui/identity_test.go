package gui

import (
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// checkIdentityHeading checks that heading reads name in large bold type,
// is drawn inside win, and sits above first (the first control under it):
// without a title bar it is what tells the windows apart.
func checkIdentityHeading(t *testing.T, win fyne.Window, heading *widget.Label, name string, first fyne.CanvasObject) {
	t.Helper()
	win.Resize(fyne.NewSize(640, 480))
	if heading.Text != name || !heading.TextStyle.Bold || heading.SizeName != theme.SizeNameHeadingText {
		t.Errorf("heading %q bold=%v size=%q, want %q, bold, heading size", heading.Text, heading.TextStyle.Bold, heading.SizeName, name)
	}
	text := drawnText(win.Canvas().Content(), name)
	if text == nil {
		t.Fatalf("%q is not drawn inside the window", name)
	}
	if body := test.Theme().Size(theme.SizeNameText); text.TextSize < 1.5*body {
		t.Errorf("%q is drawn at %v, want at least 1.5× the body text (%v)", name, text.TextSize, body)
	}
	d := fyne.CurrentApp().Driver()
	hp, fp := d.AbsolutePositionForObject(heading), d.AbsolutePositionForObject(first)
	if heading.Size().Height <= 0 || hp.Y+heading.Size().Height > fp.Y {
		t.Errorf("heading at y %v (height %v) is not above the first control at y %v", hp.Y, heading.Size().Height, fp.Y)
	}
}

// drawnText finds the canvas text reading s under o, through containers,
// scrolls and widget renderers.
func drawnText(o fyne.CanvasObject, s string) *canvas.Text {
	switch x := o.(type) {
	case *canvas.Text:
		if x.Text == s && x.Visible() {
			return x
		}
	case *fyne.Container:
		for _, c := range x.Objects {
			if t := drawnText(c, s); t != nil {
				return t
			}
		}
	case *container.Scroll:
		return drawnText(x.Content, s)
	case fyne.Widget:
		for _, c := range test.WidgetRenderer(x).Objects() {
			if t := drawnText(c, s); t != nil {
				return t
			}
		}
	}
	return nil
}

func TestNetworkWindowIdentity(t *testing.T) {
	w, _ := newTestNetworkWindow(t)
	checkIdentityHeading(t, w.Window(), w.identity, "Network", w.maxSleepSlider)
}
