package middleware

import (
	"os"
	"testing"
	"time"

	"totalorder/internal/evlog"
	"totalorder/internal/evlog/evlogtest"
	"totalorder/middleware/core"
)

// BenchmarkEventLogWrite is the events log's write path as the node's loop
// drives it: one line per list change (a message sent, received and
// delivered: three lines per op), flushed every 100 lines into a file
// that keeps nothing.
func BenchmarkEventLogWrite(b *testing.B) {
	d := &discardFile{}
	e := newEventLog(evlog.NewWriter(d, "middleware-1.jsonl", evlog.Options{MW: 1, Run: "1700000000000000"}))
	at := time.Unix(1700000000, 0)
	b.ReportAllocs()
	var i uint64
	for b.Loop() {
		i++
		id := core.MsgID{Sender: 2, Num: i}
		e.write(&core.Note{Kind: core.NoteSent, ID: id, At: at})
		e.write(&core.Note{Kind: core.NoteReceived, ID: id, At: at})
		e.write(&core.Note{Kind: core.NoteReady, ID: id, Seq: i, At: at})
		if i%33 == 0 {
			e.flush(at)
		}
	}
	b.SetBytes(int64(d.n / max(int64(i), 1)))
}

// discardFile is a logFile that counts what it is given.
type discardFile struct{ n int64 }

func (d *discardFile) Write(p []byte) (int, error) { d.n += int64(len(p)); return len(p), nil }
func (d *discardFile) Truncate(size int64) error   { d.n = size; return nil }
func (d *discardFile) Stat() (os.FileInfo, error)  { return evlogtest.Size(d.n), nil }
func (d *discardFile) Close() error                { return nil }
