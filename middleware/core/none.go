package core

// No ordering at all, for teaching: a message is Ready the moment its
// network copy arrives, so Ready is Received and every window shows its
// own order. The only protocol allowed to break the rule that no two
// middlewares deliver different messages at one position; the windows,
// the status line and the order checker all say so.
//
// Any lab message that arrives is delivered, announced or not: there is
// nothing to announce it to.

func init() {
	registerProtocol(protocolSpec{name: None, rank: 5, orders: false,
		summary: "no ordering: Ready is Received, so the windows disagree (for teaching)",
		make:    func(c host) protocol { return &noOrder{c: c} }})
}

type noOrder struct{ c host }

// restore goes on from what was delivered.
func (o *noOrder) restore([][]byte) error {
	o.c.resetOrder(o.c.deliveredCount(), o.c.deliveredCount()+1, nil)
	return nil
}

func (o *noOrder) sent([]MsgID) {}

// arrived gives the copy the next position at once.
func (o *noOrder) arrived(id MsgID) { o.c.ordered(o.c.positionsKnown()+1, id) }

func (o *noOrder) control(Msg)    {}
func (o *noOrder) linkClosed(int) {}
func (o *noOrder) tick()          {}
func (o *noOrder) view(v *View)   {}

// tolerateAmnesia: nothing is ordered, so nothing depends on a member.
func (o *noOrder) tolerateAmnesia(int) bool { return true }
