package timeline

import (
	"image/color"
	"os"
	"path/filepath"
	"testing"
)

// liveModel is what a live view holds after five middlewares sent 100
// messages a second each for a minute, with copies delayed up to 2 s.
func liveModel() *Model {
	m := NewModel(5, LiveLimits)
	for s := 0; s < 60; s++ {
		feed(m, 500, int64(s)*1e6, 2000)
	}
	return m
}

// BenchmarkLayoutLive is one redraw's layout of the live view under that
// load: the last 30 s, of which the 200 most recently active messages.
func BenchmarkLayoutLive(b *testing.B) {
	m := liveModel()
	var l Layouter
	now := m.Latest()
	b.ReportAllocs()
	for b.Loop() {
		from, to := LiveWindow(m, now, DefaultSpan)
		sc := l.Layout(m, View{From: from, To: to, W: 1400, H: 560, ShowControl: true})
		if sc.Shown == 0 {
			b.Fatal("nothing drawn")
		}
	}
}

// BenchmarkPoll is reading a tenth of a second of that load's logs
// (what one frame reads): 50 messages, each a line at its sender, five
// receives and five readies, and six netsim lines.
func BenchmarkPoll(b *testing.B) {
	dir := b.TempDir()
	var mw [6][]byte
	for i := 0; i < 50; i++ {
		sender := i%5 + 1
		text := `"msg":"Msg #` + itoa(int64(i+1)) + ` from Middleware ` + itoa(int64(sender)) + `"`
		ts := func(d int) string { return `"ts_us":` + itoa(base+int64(i*2000+d)) }
		mw[sender] = append(mw[sender], `{"level":"info","event":"sent",`+text+`,`+ts(0)+`,"mw":`+itoa(int64(sender))+`,"run":"r"}`+"\n"...)
		mw[0] = append(mw[0], `{"event":"accepted","id":1,`+text+`,`+ts(100)+"}\n"...)
		for j := 1; j <= 5; j++ {
			mw[j] = append(mw[j], `{"level":"info","event":"received",`+text+`,`+ts(500)+`,"mw":`+itoa(int64(j))+`,"run":"r"}`+"\n"...)
			mw[j] = append(mw[j], `{"level":"info","event":"ready",`+text+`,"seq":1,`+ts(900)+`,"mw":`+itoa(int64(j))+`,"run":"r"}`+"\n"...)
			mw[0] = append(mw[0], `{"event":"copy","id":1,`+text+`,"to":`+itoa(int64(j))+`,"delay_us":400,`+ts(500)+"}\n"...)
		}
	}
	names := []string{NetsimLog, "middleware-1.jsonl", "middleware-2.jsonl", "middleware-3.jsonl", "middleware-4.jsonl", "middleware-5.jsonl"}
	files := make([]*os.File, 6)
	for i, n := range names {
		f, err := os.Create(filepath.Join(dir, n))
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		files[i] = f
	}
	src := NewDirSource(dir)
	m := NewModel(5, LiveLimits)
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		for i, f := range files {
			f.Write(mw[i])
		}
		b.StartTimer()
		if read, err := src.Poll(m); err != nil || !read {
			b.Fatal(read, err)
		}
	}
}

// BenchmarkPaintLive is painting that layout into the image the window
// shows (1400×560 at scale 1).
func BenchmarkPaintLive(b *testing.B) {
	m := liveModel()
	var l Layouter
	from, to := LiveWindow(m, m.Latest(), DefaultSpan)
	sc := l.Layout(m, View{From: from, To: to, W: 1400, H: 560, ShowControl: true})
	p := NewPainter(nil, nil)
	b.ReportAllocs()
	for b.Loop() {
		p.Paint(sc, 1, color.NRGBA{0xff, 0xff, 0xff, 0xff})
	}
	b.ReportMetric(float64(len(sc.Lines)), "lines")
	b.ReportMetric(float64(len(sc.Rects)), "rects")
	b.ReportMetric(float64(len(sc.Texts)), "texts")
}
