package middleware

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
)

// stateLog is a middleware's durable protocol state: the records the core
// asks to persist (core.Output.Persist), appended in order, each framed as
//
//	uvarint length | 4-byte CRC-32C (little endian) | record
//
// so that a record torn by a crash is recognised and dropped on load. A
// rewrite (compaction) writes a new file and renames it over the old one.
// With sync set, every append and rewrite is fsynced before the output
// that depends on it goes out; without it the records survive kill -9 (the
// kernel has them) but not a power cut.
type stateLog struct {
	path string
	sync bool
	f    *os.File
	buf  []byte
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// maxStateRecord bounds one record (a raft snapshot is the largest).
const maxStateRecord = 256 << 20

// openStateLog opens (creating) the log at path and returns the records an
// earlier incarnation wrote. A torn or corrupt tail is cut off.
func openStateLog(path string, sync bool) (*stateLog, [][]byte, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, nil, fmt.Errorf("state folder: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("state log: %w", err)
	}
	recs, good, err := readStateRecords(f)
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("state log %s: %w", path, err)
	}
	if err := f.Truncate(good); err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("state log %s: %w", path, err)
	}
	if _, err := f.Seek(good, io.SeekStart); err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("state log %s: %w", path, err)
	}
	return &stateLog{path: path, sync: sync, f: f}, recs, nil
}

// readStateRecords reads every whole, intact record and the offset after
// the last one.
func readStateRecords(r io.Reader) (recs [][]byte, good int64, err error) {
	br := bufio.NewReaderSize(r, 1<<20)
	for {
		n, err := binary.ReadUvarint(br)
		if err != nil {
			return recs, good, nil // end, or a torn length
		}
		if n == 0 || n > maxStateRecord {
			return recs, good, nil
		}
		var sum [4]byte
		rec := make([]byte, n)
		if _, err := io.ReadFull(br, sum[:]); err != nil {
			return recs, good, nil
		}
		if _, err := io.ReadFull(br, rec); err != nil {
			return recs, good, nil
		}
		if crc32.Checksum(rec, castagnoli) != binary.LittleEndian.Uint32(sum[:]) {
			return recs, good, nil
		}
		recs = append(recs, rec)
		good += int64(uvarintLen(n) + 4 + int(n))
	}
}

func uvarintLen(v uint64) int {
	var b [binary.MaxVarintLen64]byte
	return binary.PutUvarint(b[:], v)
}

func appendStateRecord(dst, rec []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(rec)))
	dst = binary.LittleEndian.AppendUint32(dst, crc32.Checksum(rec, castagnoli))
	return append(dst, rec...)
}

// write makes recs durable: appended, or replacing everything.
func (l *stateLog) write(recs [][]byte, rewrite bool) error {
	l.buf = l.buf[:0]
	for _, r := range recs {
		l.buf = appendStateRecord(l.buf, r)
	}
	if rewrite {
		return l.rewrite()
	}
	if _, err := l.f.Write(l.buf); err != nil {
		return err
	}
	if l.sync {
		return l.f.Sync()
	}
	return nil
}

// rewrite writes l.buf to a new file and renames it over the log (every
// file closed first, as Windows wants for a rename).
func (l *stateLog) rewrite() error {
	tmp := l.path + ".new"
	err := writeFileSynced(tmp, l.buf, l.sync)
	if err == nil {
		err = l.f.Close()
		if err = errors.Join(err, os.Rename(tmp, l.path)); err != nil {
			os.Remove(tmp)
		}
	} else {
		return err
	}
	f, ferr := os.OpenFile(l.path, os.O_WRONLY|os.O_APPEND, 0o600)
	if ferr != nil {
		return errors.Join(err, ferr)
	}
	l.f = f
	return err
}

func writeFileSynced(path string, data []byte, sync bool) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil && sync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
	}
	return err
}

func (l *stateLog) close() error { return l.f.Close() }
