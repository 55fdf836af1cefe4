package lab

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// WaitJoined waits until every middleware has its control links up and,
// with the sequencer protocol, knows its sequencer (it has joined: sends
// before that are held back, which would bunch a demo's first messages).
func (l *Lab) WaitJoined(ctx context.Context) error {
	if err := l.WaitLinked(ctx, l.IDs()); err != nil {
		return err
	}
	if l.cfg.Protocol != "sequencer" {
		return nil
	}
	for _, i := range l.IDs() {
		for {
			line, err := l.Status(i, 5*time.Second)
			if err != nil {
				return err
			}
			if strings.Contains(line, " sequencer=") {
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("middleware %d has not joined (%s): %w", i, line, ctx.Err())
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	return nil
}
