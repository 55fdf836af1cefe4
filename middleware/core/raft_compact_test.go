package core

import (
	"testing"

	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// storageWith holds entries 1..n (after a bootstrap snapshot at index 0),
// entry i with size(i) bytes of data.
func storageWith(t *testing.T, n uint64, size func(uint64) int) *raft.MemoryStorage {
	t.Helper()
	s := raft.NewMemoryStorage()
	var ents []*pb.Entry
	for i := uint64(1); i <= n; i++ {
		ents = append(ents, &pb.Entry{Index: proto.Uint64(i), Term: proto.Uint64(1), Data: make([]byte, size(i))})
	}
	if err := s.Append(ents); err != nil {
		t.Fatal(err)
	}
	return s
}

// keptBehind is the data the log keeps up to applied once compacted as
// compactIndex says.
func keptBehind(t *testing.T, s *raft.MemoryStorage, applied uint64) (entries, bytes int) {
	t.Helper()
	if to := compactIndex(s, applied); to > 0 {
		if err := s.Compact(to); err != nil {
			t.Fatal(err)
		}
	}
	first, _ := s.FirstIndex()
	ents, err := s.Entries(first, applied+1, 1<<62)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		bytes += len(e.GetData())
	}
	return len(ents), bytes
}

// The log behind a snapshot is bounded in bytes, whatever the entries
// hold: with big entries (a burst of sends, up to maxPropose ids each) a
// bound in entries alone kept the whole run (13 B more memory per
// message after a million).
func TestCompactKeepsBytesNotJustEntries(t *testing.T) {
	big := storageWith(t, 3000, func(uint64) int { return 10 << 10 })
	n, b := keptBehind(t, big, 2900)
	if b > keepBytes+10<<10 || n < keepBytes/(10<<10) {
		t.Errorf("big entries: kept %d entries, %d bytes; want about %d bytes", n, b, keepBytes)
	}
	small := storageWith(t, 20000, func(uint64) int { return 12 })
	if n, _ := keptBehind(t, small, 19000); n != keepEntries {
		t.Errorf("small entries: kept %d, want keepEntries (%d)", n, keepEntries)
	}
	few := storageWith(t, 100, func(uint64) int { return 100 })
	if n, _ := keptBehind(t, few, 90); n != 90 {
		t.Errorf("a short log: kept %d of 90 applied entries, want all", n)
	}
}
