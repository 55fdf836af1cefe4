package gui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// Status lines, captions and headings are text widgets (Label, RichText)
// packed closer than the theme's padding: three Labels at the default 8 px
// inner padding would take a fifth of a window.
//
// They are packed by a layout, not by a theme override with less padding
// (container.NewThemeOverride), for memory: Fyne keeps the fonts it parses
// per theme scope and text style, and a ThemeOverride makes a new scope
// when it is created and again at every Refresh, so every override cost
// about 8 MB of parsed fonts (the text font, the emoji font and a system
// font) for each style shown in it, and each refresh of the window
// another, never freed. With a layout every text is in the app's scope
// and the fonts are parsed once a style.

// newCaption is an explanatory line under a heading or a list, in the
// caption size. It is upright: the only italic texts were captions, and a
// third text style (besides the regular and bold every window has, bold
// for its buttons) costs about 9 MB of fonts in each process (see above).
func newCaption(text string) *widget.Label {
	return newInfoLabel(text)
}

// compactPadding is the space left around and between the texts of a
// compact box (the inner padding and padding of the former compact theme).
const compactPadding = 2

// newCompact stacks text widgets one under the other, as container.NewVBox
// would, with compactPadding around and between their texts instead of the
// theme's inner padding and padding. Hidden objects take no room.
func newCompact(objects ...fyne.CanvasObject) *fyne.Container {
	return &fyne.Container{Layout: compactLayout{}, Objects: objects}
}

// compactLayout lays out text widgets with their theme's inner padding
// trimmed to compactPadding: each widget gets its minimum height and the
// box's width, plus the trimmed padding on each side, and the boxes
// overlap by it. A text widget draws nothing in its padding, so the
// overlap only moves the texts closer, exactly as a smaller inner padding
// would.
type compactLayout struct{}

// trim is how much of each side's inner padding the layout takes back.
func (compactLayout) trim() float32 {
	return max(theme.InnerPadding()-compactPadding, 0)
}

func (l compactLayout) Layout(objects []fyne.CanvasObject, size fyne.Size) {
	t := l.trim()
	y := float32(0)
	for _, o := range objects {
		if !o.Visible() {
			continue
		}
		h := o.MinSize().Height
		o.Move(fyne.NewPos(-t, y-t))
		o.Resize(fyne.NewSize(size.Width+2*t, h))
		y += h - 2*t + compactPadding
	}
}

func (l compactLayout) MinSize(objects []fyne.CanvasObject) fyne.Size {
	t := l.trim()
	var w, h float32
	n := 0
	for _, o := range objects {
		if !o.Visible() {
			continue
		}
		min := o.MinSize()
		w = max(w, min.Width-2*t)
		h += min.Height - 2*t
		n++
	}
	if n > 1 {
		h += compactPadding * float32(n-1)
	}
	return fyne.NewSize(max(w, 0), max(h, 0))
}

// setText shows text in l unless l already shows it. Label.SetText lays
// the text out again (shaping it, for truncation) even when it is the
// same: the status lines, set four times a second, made most of an idle
// window's garbage that way.
func setText(l *widget.Label, text string) {
	if l.Text != text {
		l.SetText(text)
	}
}

// digitsLabel shows a number in the monospace font, trailing-aligned and
// padded as a Label is. It names its font (newDigits), so a window that
// shows numbers needs no monospace text style; a monospace Label made the
// Network window parse a third style's fonts (about 8 MB). UI thread only.
type digitsLabel struct {
	widget.BaseWidget
	Text string // what it shows; set it with SetText
	text *canvas.Text
}

func newDigitsLabel(text string) *digitsLabel {
	l := &digitsLabel{Text: text, text: newDigits(theme.TextSize())}
	l.text.Alignment = fyne.TextAlignTrailing
	l.text.Text = text
	l.ExtendBaseWidget(l)
	return l
}

// SetText shows text, unless it shows it already.
func (l *digitsLabel) SetText(text string) {
	if text == l.Text {
		return
	}
	l.Text = text
	l.text.Text = text
	l.text.Refresh()
}

func (l *digitsLabel) CreateRenderer() fyne.WidgetRenderer {
	p := theme.InnerPadding()
	return &digitsRenderer{l: l, box: &fyne.Container{Layout: layout.NewCustomPaddedLayout(p, p, p, p), Objects: []fyne.CanvasObject{l.text}}}
}

type digitsRenderer struct {
	l   *digitsLabel
	box *fyne.Container
}

func (r *digitsRenderer) Layout(size fyne.Size)        { r.box.Resize(size) }
func (r *digitsRenderer) MinSize() fyne.Size           { return r.box.MinSize() }
func (r *digitsRenderer) Objects() []fyne.CanvasObject { return []fyne.CanvasObject{r.box} }
func (r *digitsRenderer) Destroy()                     {}

// Refresh follows theme changes.
func (r *digitsRenderer) Refresh() {
	r.l.text.Color = theme.Color(theme.ColorNameForeground)
	r.l.text.TextSize = theme.TextSize()
	r.l.text.Refresh()
}
