package gui

import (
	"strconv"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
)

// List rows are plain canvas.Text in a fixed-height container rather than
// widget.Label: a Label wraps a RichText and pads it by 8 px a side, which
// costs more per refresh and leaves too little room for
// "Msg #1234 from Middleware 4" in a third of a 640 px window. Every row has
// the template's height (no SetItemHeight), which keeps widget.List O(1)
// at any length.

// rowTextSize is a little under the theme's text size, so that
// "Msg #1234 from Middleware 5" fits a third of a 640 px window.
func rowTextSize() float32 { return theme.TextSize() - 2 }

// seqColumnSample sizes the Ready list's sequence-number column: up to
// five digits line up, longer numbers push into the padding.
const seqColumnSample = "#99999"

// newRow is the template of every list row: the message, and for Ready its
// agreed sequence number in a right-aligned column before it.
func newRow(withSeq bool) *fyne.Container {
	size := rowTextSize()
	msg := canvas.NewText("", theme.Color(theme.ColorNameForeground))
	msg.TextSize = size
	var seq *canvas.Text
	var seqWidth float32
	if withSeq {
		seq = newDigits(size)
		seq.Color = theme.Color(theme.ColorNamePlaceHolder)
		seq.Alignment = fyne.TextAlignTrailing
		seq.Text = seqColumnSample
		seqWidth = seq.MinSize().Width
		seq.Text = ""
	}
	height := fyne.MeasureText("Mg#1", size, fyne.TextStyle{}).Height
	objects := []fyne.CanvasObject{msg}
	if seq != nil {
		objects = []fyne.CanvasObject{seq, msg}
	}
	return container.New(&rowLayout{seqWidth: seqWidth, textHeight: height}, objects...)
}

// newDigits is a text for numbers in the monospace font. It names the
// font itself (FontSource) rather than asking for the monospace style:
// Fyne then parses that one font, once for the process, where the style
// would also parse the emoji font and a system font for it, about 7 MB
// more per process, for digits that need neither.
func newDigits(size float32) *canvas.Text {
	t := canvas.NewText("", theme.Color(theme.ColorNameForeground))
	t.TextSize = size
	t.TextStyle.Monospace = true
	t.FontSource = theme.TextMonospaceFont()
	return t
}

// setRow shows e in a row made by newRow.
func setRow(row *fyne.Container, e listEntry, withSeq bool) {
	msg := row.Objects[len(row.Objects)-1].(*canvas.Text)
	// Colours follow theme changes: taken here, not kept.
	switch e.origin {
	case recovered:
		msg.Text = e.msg + recoveredSuffix
		msg.Color = theme.Color(theme.ColorNamePlaceHolder)
	case foreign:
		msg.Text = printable(e.msg)
		msg.Color = theme.Color(theme.ColorNameWarning)
	default:
		msg.Text = e.msg
		msg.Color = theme.Color(theme.ColorNameForeground)
	}
	msg.Refresh()
	if withSeq {
		seq := row.Objects[0].(*canvas.Text)
		seq.Text = "#" + strconv.FormatUint(e.seq, 10)
		seq.Color = theme.Color(theme.ColorNamePlaceHolder)
		seq.Refresh()
	}
}

// recoveredSuffix marks a Received row whose content came from the order:
// its network copy was lost, so it is not an arrival.
const recoveredSuffix = "  (recovered: its copy was lost)"

// printable shows foreign content on one line: control bytes (a newline a
// student's middleware sent) become "?", as the original's ASCII decoding
// shows bytes it cannot read.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return '?'
		}
		return r
	}, s)
}

// rowLayout places a row's texts: the sequence number, if any, in a column
// seqWidth wide, then the message. Its minimum width is small on purpose: rows
// are clipped by their list rather than widening the window.
type rowLayout struct {
	seqWidth   float32
	textHeight float32
}

func (l *rowLayout) Layout(objects []fyne.CanvasObject, size fyne.Size) {
	pad := theme.Padding()
	y := (size.Height - l.textHeight) / 2
	x := pad
	if len(objects) > 1 {
		objects[0].Move(fyne.NewPos(x, y))
		objects[0].Resize(fyne.NewSize(l.seqWidth, l.textHeight))
		x += l.seqWidth + 2*pad
	}
	msg := objects[len(objects)-1]
	msg.Move(fyne.NewPos(x, y))
	msg.Resize(fyne.NewSize(max(size.Width-x-pad, 0), l.textHeight))
}

func (l *rowLayout) MinSize([]fyne.CanvasObject) fyne.Size {
	pad := theme.Padding()
	return fyne.NewSize(l.seqWidth+4*pad, l.textHeight+2*pad)
}
