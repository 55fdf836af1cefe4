package core

// idSet remembers which message ids it has seen, in memory that stays flat
// while each sender's numbers arrive roughly in order: per sender, a floor
// below which every number is in the set, and the numbers above it.
type idSet map[int]*numSet

type numSet struct {
	floor uint64              // 1..floor are all in the set
	above map[uint64]struct{} // members above floor+1
}

func (s idSet) has(id MsgID) bool {
	n := s[id.Sender]
	if n == nil {
		return false
	}
	if id.Num <= n.floor {
		return true
	}
	_, ok := n.above[id.Num]
	return ok
}

// add puts id in the set and reports whether it was new.
func (s idSet) add(id MsgID) bool {
	n := s[id.Sender]
	if n == nil {
		n = &numSet{}
		s[id.Sender] = n
	}
	if id.Num <= n.floor {
		return false
	}
	if id.Num != n.floor+1 {
		if _, ok := n.above[id.Num]; ok {
			return false
		}
		if n.above == nil {
			n.above = make(map[uint64]struct{})
		}
		n.above[id.Num] = struct{}{}
		return true
	}
	n.floor++
	for len(n.above) > 0 {
		if _, ok := n.above[n.floor+1]; !ok {
			break
		}
		delete(n.above, n.floor+1)
		n.floor++
	}
	return true
}

// raiseFloor puts every number of sender up to num in the set: a sender
// restarted after num, so nothing below can still come.
func (s idSet) raiseFloor(sender int, num uint64) {
	n := s[sender]
	if n == nil {
		n = &numSet{}
		s[sender] = n
	}
	for k := range n.above {
		if k <= num {
			delete(n.above, k)
		}
	}
	if num > n.floor {
		n.floor = num
	}
	for len(n.above) > 0 {
		if _, ok := n.above[n.floor+1]; !ok {
			break
		}
		delete(n.above, n.floor+1)
		n.floor++
	}
}
