package core

import "time"

// pendingQueue holds this middleware's messages announced for ordering but
// not yet ordered, oldest first, so that what waits too long (the
// announcement was lost with a leader or a link) can be announced again.
// Orders mostly come in announcement order, so the queue stays short.
type pendingQueue struct {
	ids  []MsgID
	at   []time.Time // when ids[i] was last announced
	live map[MsgID]struct{}
}

func newPendingQueue() pendingQueue { return pendingQueue{live: make(map[MsgID]struct{})} }

func (q *pendingQueue) add(id MsgID, now time.Time) {
	q.ids = append(q.ids, id)
	q.at = append(q.at, now)
	q.live[id] = struct{}{}
}

// done removes id (it was ordered).
func (q *pendingQueue) done(id MsgID) {
	delete(q.live, id)
	for len(q.ids) > 0 {
		if _, ok := q.live[q.ids[0]]; ok {
			break
		}
		q.ids, q.at = q.ids[1:], q.at[1:]
	}
}

// overdue reports whether the oldest waited at least d.
func (q *pendingQueue) overdue(now time.Time, d time.Duration) bool {
	return len(q.ids) > 0 && now.Sub(q.at[0]) >= d
}

// again lists every id still waiting, oldest first, and marks them
// announced now.
func (q *pendingQueue) again(now time.Time) []MsgID {
	ids := make([]MsgID, 0, len(q.live))
	for _, id := range q.ids {
		if _, ok := q.live[id]; ok {
			ids = append(ids, id)
		}
	}
	q.ids = append(q.ids[:0:0], ids...)
	q.at = q.at[:0:0]
	for range ids {
		q.at = append(q.at, now)
	}
	return ids
}
