package gui

import (
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
)

// masterApp is a test app whose windows note which of them is made the
// master (the test driver's SetMaster does nothing).
type masterApp struct {
	fyne.App
	masters map[string]bool
}

func (a *masterApp) NewWindow(title string) fyne.Window {
	return &masterWindow{Window: a.App.NewWindow(title), app: a}
}

type masterWindow struct {
	fyne.Window
	app *masterApp
}

func (w *masterWindow) SetMaster() { w.app.masters[w.Title()] = true }

// Closing the Network window ends the network program even with the
// Timeline open: the Network window is the master, the Timeline is not.
func TestTheNetworkWindowIsTheMaster(t *testing.T) {
	a := &masterApp{App: test.NewTempApp(t), masters: map[string]bool{}}
	w := newNetworkWindow(a, &fakeNetwork{maxSleep: time.Second}, parseMaxSleep)
	t.Cleanup(w.Close)
	w.EnableTimeline(a, run1Dir, TimelineOptions{})
	w.timeline.newWindow = newTimelineWindow // no goroutine (see TestNetworkWindowOpensTheTimeline)
	test.Tap(w.timeline.button)
	tw := w.timeline.open.Load()
	if tw == nil {
		t.Fatal("the button opened no Timeline window")
	}
	t.Cleanup(tw.Close)
	if !a.masters["Network"] {
		t.Error("the Network window is not the app's master: an open Timeline would keep the network program alive once it is closed")
	}
	if a.masters["Timeline"] {
		t.Error("the Timeline window is the app's master: closing it would end the network program")
	}
}
