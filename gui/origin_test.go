package gui

import (
	"fmt"
	"strings"
	"testing"

	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/theme"

	"totalorder/middleware"
)

// A student's middleware's message shows in Received whole, on one line,
// in the warning colour, and selecting it says why it is never delivered;
// a recovered entry says its copy was lost.
func TestReceivedShowsHowContentCame(t *testing.T) {
	w, f := newTestMiddlewareWindow(t, 1)
	const student, lab, lost = "Msg #1 from Middleware 3 10:41:07.123\n", "Msg #1 from Middleware 2", "Msg #2 from Middleware 2"
	f.Emit(
		middleware.Event{Kind: middleware.EventReceived, Msg: student, Foreign: true},
		received(lab),
		middleware.Event{Kind: middleware.EventReceived, Msg: lost, Recovered: true},
		ready(1, lab), ready(2, lost),
	)
	w.flush()
	receivedList := w.cols[colReceived].list
	var got []string
	for _, r := range renderedRows(receivedList) {
		got = append(got, r.text)
	}
	want := []string{"Msg #1 from Middleware 3 10:41:07.123?", lab, lost + strings.TrimRight(recoveredSuffix, " ")}
	for i := range want {
		want[i] = strings.Join(strings.Fields(want[i]), " ")
	}
	for i := range got {
		got[i] = strings.Join(strings.Fields(got[i]), " ")
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Received rows %q, want %q", got, want)
	}
	// The colours, as drawn.
	row := newRow(false)
	setRow(row, w.cols[colReceived].model.entries[0], false)
	if c := row.Objects[0].(*canvas.Text).Color; c != theme.Color(theme.ColorNameWarning) {
		t.Errorf("a foreign row is drawn in %v, want the warning colour", c)
	}
	setRow(row, w.cols[colReceived].model.entries[1], false)
	if c := row.Objects[0].(*canvas.Text).Color; c != theme.Color(theme.ColorNameForeground) {
		t.Errorf("a network arrival is drawn in %v, want the text colour", c)
	}

	receivedList.Select(0)
	if got, want := w.selectionInfo.Text, "received row 1, never delivered: not announced by any middleware of this lab (Msg #1 from Middleware 3 10:41:07.123?)"; got != want {
		t.Errorf("selection info %q, want %q", got, want)
	}
	receivedList.Select(2)
	if got, want := w.selectionInfo.Text, lost+": sent – · received row 3 (recovered from the order: its network copy was lost) · ready #2"; got != want {
		t.Errorf("selection info %q, want %q", got, want)
	}
	w.showStatus(middleware.Status{ID: 1, Protocol: "raft", Received: 3, Recovered: 1, Foreign: 1, Ready: 2})
	if got := w.counters.Text; !strings.Contains(got, "received 3 (1 recovered, 1 not announced by any middleware of this lab: never delivered)") {
		t.Errorf("counters line %q does not say why the foreign entry stays", got)
	}
}
