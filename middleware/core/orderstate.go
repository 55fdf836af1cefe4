package core

import (
	"encoding/binary"
	"errors"
)

// The order state a snapshot carries (raft's snapshots, the sequencer's
// compacted log): the positions known, the kept window of ids, and the set
// of ids ordered, in uvarints.

// appendOrderState encodes the core's order (its length and the kept
// window of ids) and the set of ids ordered, for a snapshot.
func (c *Core) appendOrderState(b []byte, ordered idSet) []byte {
	base, ids := c.recentOrder()
	b = binary.AppendUvarint(b, c.positions)
	b = binary.AppendUvarint(b, base)
	b = binary.AppendUvarint(b, uint64(len(ids)))
	for _, id := range ids {
		b = binary.AppendUvarint(b, uint64(id.Sender))
		b = binary.AppendUvarint(b, id.Num)
	}
	return appendIDSet(b, ordered)
}

// loadOrderState installs appendOrderState's encoding in c and returns the
// set of ids ordered.
func (c *Core) loadOrderState(data []byte) (idSet, error) {
	rd := &uvarintReader{b: data}
	last, base, count := rd.next(), rd.next(), rd.next()
	if !rd.ok() || count > uint64(len(data)) {
		return nil, errors.New("bad order state header")
	}
	ids := make([]MsgID, count)
	for i := range ids {
		ids[i] = MsgID{Sender: int(rd.next()), Num: rd.next()}
	}
	ordered, err := readIDSet(rd)
	if err != nil || !rd.ok() || base+count != last+1 {
		return nil, errors.New("bad order state")
	}
	c.resetOrder(last, base, ids)
	return ordered, nil
}

func appendIDSet(b []byte, s idSet) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	for sender := 1; len(s) > 0 && sender <= maxSender(s); sender++ {
		n := s[sender]
		if n == nil {
			continue
		}
		b = binary.AppendUvarint(b, uint64(sender))
		b = binary.AppendUvarint(b, n.floor)
		b = binary.AppendUvarint(b, uint64(len(n.above)))
		for num := range n.above {
			b = binary.AppendUvarint(b, num)
		}
	}
	return b
}

func maxSender(s idSet) int {
	m := 0
	for k := range s {
		m = max(m, k)
	}
	return m
}

func readIDSet(rd *uvarintReader) (idSet, error) {
	s := make(idSet)
	senders := rd.next()
	for i := uint64(0); i < senders && rd.ok(); i++ {
		sender, floor, above := int(rd.next()), rd.next(), rd.next()
		if !rd.ok() || above > uint64(len(rd.b)) {
			return nil, errors.New("bad id set")
		}
		n := &numSet{floor: floor}
		for k := uint64(0); k < above; k++ {
			if n.above == nil {
				n.above = make(map[uint64]struct{}, above)
			}
			n.above[rd.next()] = struct{}{}
		}
		s[sender] = n
	}
	if !rd.ok() {
		return nil, errors.New("bad id set")
	}
	return s, nil
}

// uvarintReader reads a sequence of uvarints; after the first error ok
// stays false and next returns 0.
type uvarintReader struct {
	b   []byte
	bad bool
}

func (u *uvarintReader) next() uint64 {
	if u.bad {
		return 0
	}
	v, k := binary.Uvarint(u.b)
	if k <= 0 {
		u.bad = true
		return 0
	}
	u.b = u.b[k:]
	return v
}

func (u *uvarintReader) ok() bool { return !u.bad }
