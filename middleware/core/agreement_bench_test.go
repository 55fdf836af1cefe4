package core

import "testing"

// BenchmarkAgreementDelivered is the agreement check's cost per delivery:
// extend the running hash and keep it for digests.
//
//	go test ./middleware/core -run XXX -bench AgreementDelivered
func BenchmarkAgreementDelivered(b *testing.B) {
	var a agreement
	a.known, a.hash = true, fnvOffset
	a.hashes, a.ids = []uint64{fnvOffset}, []MsgID{{}}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		a.delivered(MsgID{Sender: 1 + i%5, Num: uint64(i/5 + 1)})
	}
}
