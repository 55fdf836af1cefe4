package netsim

import (
	"io"
	"strconv"
	"sync"
	"time"
)

// console writes the lines the original program prints (Config.
// OriginalConsole), in its words, from Network.cs:
//
//	Console.WriteLine("Waiting for a connection...");          // before each accept
//	Console.Write("Message received: {0}", data);              // no newline: data as forwarded
//	Console.WriteLine("delay time for {1} is {0}", sleepTime[i], ports[i]);
//
// with the delay in whole milliseconds. Copies that fault injection drops
// or duplicates, which the original cannot do, say so on their line.
type console struct {
	mu  sync.Mutex
	w   io.Writer
	buf []byte
}

func (c *console) write(b []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, _ = c.w.Write(b)
}

// received prints one accepted message and its copies' delays, in one write.
func (c *console) received(frame []byte, dests []*dest, draws []draw) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b := append(c.buf[:0], "Message received: "...)
	b = append(b, frame...)
	for i, d := range dests {
		dr := draws[i]
		if dr.drop {
			b = append(b, "copy for "...)
			b = append(b, d.label...)
			b = append(b, " dropped (fault injection)\n"...)
			continue
		}
		b = append(b, "delay time for "...)
		b = append(b, d.label...)
		b = append(b, " is "...)
		b = strconv.AppendInt(b, dr.delay.Milliseconds(), 10)
		if dr.dup {
			b = append(b, ", and "...)
			b = strconv.AppendInt(b, dr.dupDelay.Milliseconds(), 10)
			b = append(b, " for its duplicate (fault injection)"...)
		}
		b = append(b, '\n')
	}
	c.buf = b
	_, _ = c.w.Write(b)
}

// logLimiter allows one log line per second and counts the ones it holds back.
type logLimiter struct {
	mu         sync.Mutex
	last       time.Time
	suppressed int
}

// allow reports whether a line may be logged now and how many were held
// back since the last one.
func (l *logLimiter) allow(now time.Time) (bool, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.last.IsZero() && now.Sub(l.last) < time.Second {
		l.suppressed++
		return false, 0
	}
	n := l.suppressed
	l.last, l.suppressed = now, 0
	return true, n
}
