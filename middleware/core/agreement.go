package core

import (
	"encoding/binary"
	"fmt"
	"strings"
	"time"
)

// The live agreement check: members compare their Ready lists as they go.
//
// Each middleware keeps a running hash of its Ready list (the hash through
// position k covers positions 1..k) and, every digestEvery, tells each
// peer its hash at a position that peer has delivered too (KindDigest: the
// position, the hash there, the id there, and how far it delivered). The
// peer compares with its own hash at that position: equal means the two
// lists agree up to it; different means they split at or before it. A
// split is then narrowed down, digest by digest (KindDigestAsk asks for a
// range), to the first position that differs, and reported once per peer
// as a NoteDiverged with the message at that position on either side.
//
// The check is the protocols' referee, not part of any: it runs the same
// whatever orders the messages, and with -protocol none it is what shows
// the windows disagreeing.

const (
	// digestEvery is how often digests go to each peer.
	digestEvery = 250 * time.Millisecond
	// digestRefresh repeats an unchanged digest, so that a peer that
	// restarted or lost one hears it again.
	digestRefresh = 2 * time.Second
	// maxDigestAsk bounds the digests one DigestAsk is answered with.
	maxDigestAsk = 256
)

// recHash is the durable running hash at the delivered mark (written with
// it), so a restarted member goes on hashing where it stopped.
const recHash = 'x'

// PeerAgreement is what this middleware knows of its Ready list against
// one peer's.
type PeerAgreement struct {
	Peer int
	// Through: the two Ready lists hold the same messages at positions
	// 1..Through (0: nothing compared yet).
	Through uint64
	// DiffAt is the first position known to differ, 0 if none. Exact when
	// DiffAt == Through+1; until then the split lies in Through+1..DiffAt.
	DiffAt uint64
	// Here and There name the messages at DiffAt, once it is exact.
	Here, There string
	// Delivered is how many messages the peer had delivered, as it last
	// said.
	Delivered uint64
}

// Exact reports whether DiffAt is the first position that differs.
func (a PeerAgreement) Exact() bool { return a.DiffAt != 0 && a.DiffAt == a.Through+1 }

// AgreementSummary words a middleware's agreement with its peers, as its
// window and status line show it: ok is false when some peer's Ready list
// differs. With no digest from anyone yet the text says so.
//
//	same order as 4 of 4 through #120
//	differs from Middleware 3 at #7 (here: Msg #2 from Middleware 4; there: Msg #1 from Middleware 5)
func AgreementSummary(as []PeerAgreement) (ok bool, text string) {
	var diffs, sames []string
	heard, comparing := 0, false
	var through uint64
	for _, a := range as {
		switch {
		case a.Exact():
			diffs = append(diffs, fmt.Sprintf("differs from Middleware %d at #%d (here: %s; there: %s)", a.Peer, a.DiffAt, a.Here, a.There))
		case a.DiffAt != 0:
			diffs = append(diffs, fmt.Sprintf("differs from Middleware %d between #%d and #%d (locating)", a.Peer, a.Through+1, a.DiffAt))
		case a.Through > 0:
			if heard == 0 || a.Through < through {
				through = a.Through
			}
			heard++
			sames = append(sames, fmt.Sprint(a.Peer))
		case a.Delivered > 0:
			comparing = true
		}
	}
	if len(diffs) > 0 {
		text = strings.Join(diffs, "; ")
		if len(sames) > 0 {
			text += fmt.Sprintf("; same as Middleware %s through #%d", strings.Join(sames, ", "), through)
		}
		return false, text
	}
	if heard == 0 {
		if comparing {
			return true, "agreement: comparing with the peers"
		}
		return true, "agreement: no digest from a peer yet"
	}
	return true, fmt.Sprintf("same order as %d of %d through #%d", heard, len(as), through)
}

// fnv64 constants: the running hash is FNV-1a over each delivered id.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func hashNext(h uint64, id MsgID) uint64 {
	var b [binary.MaxVarintLen64 * 2]byte
	k := binary.PutUvarint(b[:], uint64(id.Sender))
	k += binary.PutUvarint(b[k:], id.Num)
	for _, c := range b[:k] {
		h ^= uint64(c)
		h *= fnvPrime
	}
	return h
}

type agreement struct {
	off bool // Config.NoAgreementCheck: no hashing, no digests
	// adopting: this member's Ready list goes on after positions an
	// earlier incarnation delivered (taken back after it lost its state),
	// so it takes the hash there from a peer's digest (adopt).
	adopting     bool
	lastAdoptAsk time.Time
	adoptAsks    int
	// known: hash covers positions 1..delivered. False after restoring a
	// state log written before hashes were kept: this member then takes
	// no part in the check.
	known bool
	hash  uint64
	// A ring of the last orderWindow positions: the hash through position
	// p and the id at p are at index (p-origin) % orderWindow (origin has
	// no id kept after a restart). It grows to that size, then wraps, so
	// delivering allocates nothing.
	origin, top uint64 // the first position ever kept, and the last
	hashes      []uint64
	ids         []MsgID
	peers       map[int]*peerDigest
}

type peerDigest struct {
	PeerAgreement
	thereAt  MsgID // the id at DiffAt there
	reported bool  // NoteDiverged given
	lastSent struct {
		pos, delivered uint64
		at             time.Time
	}
	lastAsk time.Time
}

func (a *agreement) init(c *Core) {
	a.off = c.cfg.NoAgreementCheck
	a.known, a.hash = !a.off, fnvOffset
	a.hashes, a.ids = []uint64{fnvOffset}, []MsgID{{}}
	a.peers = make(map[int]*peerDigest)
	for _, p := range c.peerIDs() {
		a.peers[p] = &peerDigest{PeerAgreement: PeerAgreement{Peer: p}}
	}
}

// restored takes the durable hash (if any) after the delivered mark.
func (a *agreement) restored(delivered uint64, hash uint64, haveHash bool) {
	a.origin, a.top = delivered, delivered
	a.known = !a.off && (haveHash || delivered == 0)
	if haveHash {
		a.hash = hash
	}
	a.hashes, a.ids = []uint64{a.hash}, []MsgID{{}}
}

// delivered extends the running hash with the id delivered at c.delivered.
func (a *agreement) delivered(id MsgID) {
	if !a.known {
		return // nothing to extend: the check is off, or began unknown
	}
	a.hash = hashNext(a.hash, id)
	a.top++
	if i := int((a.top - a.origin) % orderWindow); i < len(a.hashes) {
		a.hashes[i], a.ids[i] = a.hash, id
	} else {
		a.hashes, a.ids = append(a.hashes, a.hash), append(a.ids, id)
	}
}

// rebase is for a member whose Ready list now goes on after positions it
// has no hash for: it takes no part until it adopts a peer's hash.
func (a *agreement) rebase() {
	a.known, a.adopting = false, !a.off
}

// adopt takes a peer's hash through pos (a position this member's earlier
// incarnation delivered, in the group's one order) and extends it with the
// ids delivered here since, from the order; it reports whether it could.
func (a *agreement) adopt(c *Core, pos uint64, hash uint64) bool {
	if pos > c.delivered {
		return false
	}
	for k := pos + 1; k <= c.delivered; k++ {
		id, ok := c.orderAt(k)
		if !ok {
			return false
		}
		hash = hashNext(hash, id)
	}
	a.known, a.adopting = true, false
	a.hash, a.origin, a.top = hash, c.delivered, c.delivered
	a.hashes, a.ids = []uint64{hash}, []MsgID{{}}
	return true
}

// at is the hash through pos and the id at pos, if kept.
func (a *agreement) at(pos uint64) (uint64, MsgID, bool) {
	if !a.known || pos > a.top || pos < a.first() {
		return 0, MsgID{}, false
	}
	i := (pos - a.origin) % orderWindow
	return a.hashes[i], a.ids[i], true
}

func (a *agreement) last() uint64 { return a.top }

// first is the earliest position still kept.
func (a *agreement) first() uint64 {
	if a.top-a.origin >= orderWindow {
		return a.top - orderWindow + 1
	}
	return a.origin
}

// tick sends each peer a digest at a position both have delivered.
func (a *agreement) tick(c *Core) {
	if a.adopting && c.delivered > 0 && c.now.Sub(a.lastAdoptAsk) >= digestEvery {
		// Ask the peers in turn for their hash where this one is.
		a.lastAdoptAsk = c.now
		peers := c.peerIDs()
		p := peers[a.adoptAsks%len(peers)]
		a.adoptAsks++
		c.send(p, Msg{Kind: KindDigestAsk, Seq: c.delivered, Hi: c.delivered})
	}
	if !a.known {
		return
	}
	mine := a.last()
	for _, p := range c.peerIDs() {
		pd := a.peers[p]
		pos := mine
		if pd.Delivered > 0 && pd.Delivered < pos {
			pos = pd.Delivered
		}
		if pos < a.first() || pos == 0 && mine == 0 {
			continue
		}
		ls := &pd.lastSent
		if ls.pos == pos && ls.delivered == mine && c.now.Sub(ls.at) < digestRefresh {
			continue
		}
		if c.now.Sub(ls.at) < digestEvery {
			continue
		}
		ls.pos, ls.delivered, ls.at = pos, mine, c.now
		a.sendDigest(c, p, pos)
	}
}

func (a *agreement) sendDigest(c *Core, to int, pos uint64) {
	h, id, ok := a.at(pos)
	if !ok {
		return
	}
	c.send(to, Msg{Kind: KindDigest, Seq: pos, Hash: h, ID: id, Hi: a.last()})
}

// control takes a digest or a request for digests from peer m.From.
func (a *agreement) control(c *Core, m Msg) {
	pd := a.peers[m.From]
	if pd == nil {
		return
	}
	if a.adopting && m.Kind == KindDigest && m.Seq > 0 {
		a.adopt(c, m.Seq, m.Hash)
		return
	}
	if !a.known {
		return
	}
	switch m.Kind {
	case KindDigestAsk:
		for pos := m.Seq; pos <= m.Hi && pos < m.Seq+maxDigestAsk; pos++ {
			a.sendDigest(c, m.From, pos)
		}
	case KindDigest:
		pd.Delivered = m.Hi
		mine, _, ok := a.at(m.Seq)
		if !ok || m.Seq == 0 {
			return
		}
		if mine == m.Hash {
			if m.Seq > pd.Through && (pd.DiffAt == 0 || m.Seq < pd.DiffAt) {
				pd.Through = m.Seq
			}
		} else if pd.DiffAt == 0 || m.Seq < pd.DiffAt {
			pd.DiffAt, pd.thereAt = m.Seq, m.ID
		} else if m.Seq == pd.DiffAt {
			pd.thereAt = m.ID
		}
		if pd.DiffAt == 0 {
			return
		}
		if pd.Exact() {
			if !pd.reported {
				pd.reported = true
				_, idHere, _ := a.at(pd.DiffAt)
				pd.Here, pd.There = idHere.Text(), pd.thereAt.Text()
				c.out.Notes = append(c.out.Notes, Note{Kind: NoteDiverged, ID: idHere, Seq: pd.DiffAt, At: c.now, Peer: m.From, There: pd.There})
			}
			return
		}
		// Narrow the split down: ask for the digests in between.
		lo := max(pd.Through+1, a.first())
		if lo < pd.DiffAt && c.now.Sub(pd.lastAsk) >= digestEvery {
			pd.lastAsk = c.now
			c.send(m.From, Msg{Kind: KindDigestAsk, Seq: lo, Hi: min(pd.DiffAt-1, lo+maxDigestAsk-1)})
		}
	}
}

// view lists the agreement with each peer, in id order.
func (a *agreement) view(c *Core) []PeerAgreement {
	if !a.known {
		return nil
	}
	out := make([]PeerAgreement, 0, len(a.peers))
	for _, p := range c.peerIDs() {
		out = append(out, a.peers[p].PeerAgreement)
	}
	return out
}
