package gui

import (
	"strconv"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"
)

type fakeNetwork struct {
	mu       sync.Mutex
	maxSleep time.Duration
	drop     float64
	dup      float64
	stats    NetworkStats
	read     chan struct{} // if set, gets a signal per Stats call (never blocks)
}

func (f *fakeNetwork) MaxSleep() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.maxSleep
}

func (f *fakeNetwork) SetMaxSleep(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.maxSleep = d
}

func (f *fakeNetwork) Drop() float64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.drop
}

func (f *fakeNetwork) SetDrop(p float64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.drop = p
}

func (f *fakeNetwork) Dup() float64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.dup
}

func (f *fakeNetwork) SetDup(p float64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dup = p
}

func (f *fakeNetwork) Stats() NetworkStats {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.read != nil {
		select {
		case f.read <- struct{}{}:
		default:
		}
	}
	return f.stats
}

// parseMaxSleep is the network program's -max-sleep syntax: a Go duration
// or bare milliseconds.
func parseMaxSleep(s string) (time.Duration, error) {
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Duration(ms) * time.Millisecond, nil
	}
	return time.ParseDuration(s)
}

func newTestNetworkWindow(t *testing.T) (*NetworkWindow, *fakeNetwork) {
	t.Helper()
	a := test.NewTempApp(t)
	f := &fakeNetwork{maxSleep: 2 * time.Second, drop: 0.05}
	w := newNetworkWindow(a, f, parseMaxSleep)
	t.Cleanup(w.Close)
	return w, f
}

func TestNetworkWindowShowsInitialSettings(t *testing.T) {
	w, _ := newTestNetworkWindow(t)
	if got := w.Window().Title(); got != "Network" {
		t.Errorf("title %q, want Network", got)
	}
	if got := w.maxSleepEntry.Text; got != "2s" {
		t.Errorf("entry %q, want 2s", got)
	}
	if got := w.maxSleepSlider.Value; got != 2000 {
		t.Errorf("slider at %v ms, want 2000", got)
	}
	if got := w.dropValue.Text; got != "  5 %" {
		t.Errorf("drop shows %q, want %q", got, "  5 %")
	}
}

func TestMaxSleepEntry(t *testing.T) {
	w, f := newTestNetworkWindow(t)
	for _, tt := range []struct {
		typed  string
		want   time.Duration
		slider float64
	}{
		{"500ms", 500 * time.Millisecond, 500},
		{"750", 750 * time.Millisecond, 750},
		{" 3s ", 3 * time.Second, 3000},
		{"20s", 20 * time.Second, 10000}, // beyond the slider: the slider stops at its end
		{"0", 0, 0},
	} {
		w.maxSleepEntry.SetText(tt.typed)
		if got := f.MaxSleep(); got != tt.want {
			t.Errorf("typed %q: MaxSleep %v, want %v", tt.typed, got, tt.want)
		}
		if got := w.maxSleepSlider.Value; got != tt.slider {
			t.Errorf("typed %q: slider at %v, want %v", tt.typed, got, tt.slider)
		}
		if w.maxSleepError.Text != "" {
			t.Errorf("typed %q: error shown: %q", tt.typed, w.maxSleepError.Text)
		}
	}
}

func TestMaxSleepEntryRejectsInvalidInput(t *testing.T) {
	w, f := newTestNetworkWindow(t)
	for _, typed := range []string{"abc", "2 s", "-5ms", ""} {
		w.maxSleepEntry.SetText("1s")
		w.maxSleepEntry.SetText(typed)
		if got := f.MaxSleep(); got != time.Second {
			t.Errorf("typed %q: MaxSleep changed to %v", typed, got)
		}
		if w.maxSleepError.Text == "" {
			t.Errorf("typed %q: no error shown", typed)
		}
		if got := w.maxSleepSlider.Value; got != 1000 {
			t.Errorf("typed %q: slider moved to %v", typed, got)
		}
	}
	w.maxSleepEntry.SetText("1500")
	if w.maxSleepError.Text != "" {
		t.Errorf("error still shown after valid input: %q", w.maxSleepError.Text)
	}
}

func TestMaxSleepEntrySubmitNormalises(t *testing.T) {
	w, _ := newTestNetworkWindow(t)
	w.maxSleepEntry.SetText("3000")
	w.maxSleepEntry.OnSubmitted(w.maxSleepEntry.Text)
	if got := w.maxSleepEntry.Text; got != "3s" {
		t.Errorf("entry %q after submit, want 3s", got)
	}
}

func TestMaxSleepSlider(t *testing.T) {
	w, f := newTestNetworkWindow(t)
	w.maxSleepSlider.SetValue(4500)
	if got := f.MaxSleep(); got != 4500*time.Millisecond {
		t.Errorf("MaxSleep %v, want 4.5s", got)
	}
	if got := w.maxSleepEntry.Text; got != "4500ms" {
		t.Errorf("entry %q, want 4500ms", got)
	}
	w.maxSleepEntry.SetText("oops")
	w.maxSleepSlider.SetValue(100)
	if w.maxSleepError.Text != "" {
		t.Error("error still shown after the slider set a value")
	}
	if got := w.maxSleepEntry.Text; got != "100ms" {
		t.Errorf("entry %q, want 100ms", got)
	}
}

func TestFaultInjectionSliders(t *testing.T) {
	w, f := newTestNetworkWindow(t)
	w.dropSlider.SetValue(25)
	w.dupSlider.SetValue(10)
	if got := f.Drop(); got != 0.25 {
		t.Errorf("Drop %v, want 0.25", got)
	}
	if got := f.Dup(); got != 0.10 {
		t.Errorf("Dup %v, want 0.10", got)
	}
	if got := w.dupValue.Text; got != " 10 %" {
		t.Errorf("dup shows %q", got)
	}
}

func TestNetworkCounters(t *testing.T) {
	w, _ := newTestNetworkWindow(t)
	t0 := time.Unix(1000, 0)
	w.showStats(NetworkStats{Accepted: 1234567, Delivered: 1000, InFlight: 12, Failed: 1, Dropped: 2, Duplicated: 3}, t0)
	want := [numCounters]string{
		cntAccepted: "1,234,567", cntInFlight: "12", cntDelivered: "1,000",
		cntFailed: "1", cntDropped: "2", cntDuplicated: "3",
	}
	for i, l := range w.counters {
		if l.Text != want[i] {
			t.Errorf("%s shows %q, want %q", counterNames[i], l.Text, want[i])
		}
	}
	w.showStats(NetworkStats{Delivered: 3000}, t0.Add(500*time.Millisecond))
	if got := w.deliveryRate.Text; got != "4,000" {
		t.Errorf("delivered/s %q, want 4,000", got)
	}
}

// TestNetworkWindowLoop runs the real counters loop and closes the window.
func TestNetworkWindowLoop(t *testing.T) {
	a := test.NewTempApp(t)
	f := &fakeNetwork{stats: NetworkStats{Accepted: 42}, read: make(chan struct{})}
	w := newNetworkWindow(a, f, parseMaxSleep)
	w.start(time.Millisecond)
	// The loop reads Stats, shows it, then waits for the next tick: the
	// second read means the first reading is on screen.
	for range 2 {
		select {
		case <-f.read:
		case <-time.After(10 * time.Second):
			t.Fatal("the loop did not read Stats")
		}
	}
	closed := false
	w.SetOnClosed(func() { closed = true })
	w.Window().Close() // stops and waits for the loop
	if !closed {
		t.Error("OnClosed hook not called")
	}
	if got := w.counters[cntAccepted].Text; got != "42" {
		t.Errorf("Accepted shows %q, want 42", got)
	}
}
