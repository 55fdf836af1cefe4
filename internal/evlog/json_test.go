package evlog

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// mirror is Record as encoding/json decodes it (pointers: null and absent
// alike read as zero, as in Record).
type mirror struct {
	Event     *string         `json:"event"`
	ID        *uint64         `json:"id"`
	Msg       *string         `json:"msg"`
	TS        *int64          `json:"ts_us"`
	Seq       *uint64         `json:"seq"`
	To        *int            `json:"to"`
	DelayUS   *int64          `json:"delay_us"`
	Recovered *bool           `json:"recovered"`
	Fetched   *bool           `json:"fetched"`
	Peer      *int            `json:"peer"`
	There     *string         `json:"there"`
	Dir       *string         `json:"dir"`
	Kind      *string         `json:"kind"`
	Leader    *int            `json:"leader"`
	Term      *uint64         `json:"term"`
	Label     *string         `json:"label"`
	Count     *int            `json:"count"`
	FromTS    *int64          `json:"from_ts_us"`
	ToTS      *int64          `json:"to_ts_us"`
	Error     *string         `json:"error"`
	Final     *bool           `json:"final"`
	MW        *int            `json:"mw"`
	Run       json.RawMessage `json:"run"`
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// record converts what encoding/json read into a Record.
func (m *mirror) record() Record {
	r := Record{
		ID: deref(m.ID), TS: deref(m.TS), Seq: deref(m.Seq), To: deref(m.To), DelayUS: deref(m.DelayUS),
		Recovered: deref(m.Recovered), Fetched: deref(m.Fetched), Peer: deref(m.Peer), There: deref(m.There),
		Dir: deref(m.Dir), Kind: deref(m.Kind), Leader: deref(m.Leader), Term: deref(m.Term), Label: deref(m.Label),
		Count: deref(m.Count), FromTS: deref(m.FromTS), ToTS: deref(m.ToTS), Error: deref(m.Error), Final: deref(m.Final),
		MW: deref(m.MW),
	}
	if m.Event != nil {
		r.Event = ParseEvent([]byte(*m.Event))
	}
	if m.Msg != nil {
		r.Msg = []byte(*m.Msg)
	}
	if len(m.Run) > 0 && string(m.Run) != "null" {
		if json.Unmarshal(m.Run, &r.Run) != nil {
			r.Run = string(m.Run)
		}
	}
	return r
}

// complete is Record.complete: a time, and a message for the events
// about one.
func (m *mirror) complete() bool {
	ev := Unknown
	if m.Event != nil {
		ev = ParseEvent([]byte(*m.Event))
	}
	switch ev {
	case Unknown:
		return true
	case Sent, Received, Ready, Diverged, Accepted, Copy, Drop:
		return m.TS != nil && m.Msg != nil
	}
	return m.TS != nil
}

// foldsOntoAKey reports whether line has a key that encoding/json would
// match to a field ignoring case, which this package does not.
func foldsOntoAKey(line []byte) bool {
	var obj map[string]json.RawMessage
	if json.Unmarshal(line, &obj) != nil {
		return false
	}
	names := map[string]bool{}
	typ := reflect.TypeOf(mirror{})
	for i := 0; i < typ.NumField(); i++ {
		names[typ.Field(i).Tag.Get("json")] = true
	}
	for k := range obj {
		if names[k] {
			continue
		}
		for n := range names {
			if strings.EqualFold(k, n) {
				return true
			}
		}
	}
	return false
}

// sameRecord compares records, nil and empty Msg apart.
func sameRecord(a, b Record) bool {
	if (a.Msg == nil) != (b.Msg == nil) || !bytes.Equal(a.Msg, b.Msg) {
		return false
	}
	a.Msg, b.Msg = nil, nil
	return reflect.DeepEqual(a, b)
}

// FuzzDecodeLikeEncodingJSON: a line decodes as encoding/json decodes it
// into the record's fields, or fails where it fails.
func FuzzDecodeLikeEncodingJSON(f *testing.F) {
	for _, s := range []string{
		`{"level":"info","event":"ready","msg":"Msg #1 from Middleware 2","ts_us":160,"seq":1,"mw":2,"run":"r1","time":"x"}`,
		`{"event":"copy","id":7,"msg":"a\u00e9\ud83d\ude00\"x\\\/\b\f\n\r\t","to":3,"delay_us":0,"ts_us":5}`,
		`{"msg":"\ud800","there":"\udc00\ud800\udc00x","label":"\ud83dA"}`,
		`{"msg":"bad utf8 \xff\xfe","kind":"\xc3"}`,
		`{"run":1700000000000000,"mw":-0,"seq":-0}`,
		`{"run":{"a":[1,2,{"b":null}]},"x":[true,false,null,1.5e-3,"s"]}`,
		`{"ts_us":1.0}`, `{"ts_us":1e3}`, `{"seq":-1}`, `{"ts_us":9223372036854775808}`, `{"ts_us":-9223372036854775808}`,
		`{"seq":18446744073709551615}`, `{"seq":18446744073709551616}`,
		`null`, ` { } `, `[]`, `"x"`, `1`, `true`, ``, `{`, `{"a"}`, `{"a":}`, `{"a":1,}`, `{"a":1}x`,
		`{"msg":null,"msg":"again"}`, `{"msg":"first","msg":null}`, `{"ts_\u0075s":5}`, `{"recovered":"yes"}`,
		`{"event":5}`, `{"event":null}`, `{"Event":"sent"}`, `{"a":01}`, `{"a":-}`, `{"a":1.}`, `{"a":1e}`, `{"a":"\x01"}`,
		`{"a":"\q"}`, `{"a":"\u12"}`, `{"a":tru}`, `{"ts_us":nul}`, "{\"a\":1\t,\r\"b\" :\n2}",
	} {
		f.Add([]byte(s))
	}
	for _, dir := range []string{"raft", "none", "raft-control-prefix"} {
		paths, _ := filepath.Glob(filepath.Join("testdata", "recorded", dir, "*.jsonl"))
		for _, p := range paths {
			data, _ := os.ReadFile(p)
			for i, l := range bytes.Split(data, []byte("\n")) {
				if i%9 == 0 {
					f.Add(l)
				}
			}
		}
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		if foldsOntoAKey(line) {
			return // encoding/json would take it for one of ours
		}
		var d decoder
		var got Record
		err := d.decode(line, &got)
		var m mirror
		jerr := json.Unmarshal(line, &m)
		if errors.Is(err, ErrIncomplete) {
			if jerr != nil || m.complete() {
				t.Fatalf("%q: incomplete; encoding/json: %v, %+v", line, jerr, m)
			}
			return
		}
		if jerr == nil && !m.complete() {
			t.Fatalf("%q: decode: %v; encoding/json: incomplete", line, err)
		}
		if (err == nil) != (jerr == nil) {
			t.Fatalf("%q: decode: %v; encoding/json: %v", line, err, jerr)
		}
		if err != nil {
			return
		}
		if want := m.record(); !sameRecord(got, want) {
			t.Fatalf("%q:\ndecoded   %+v\nencoding/json %+v", line, got, want)
		}
		// What is read is written back as it was read.
		var again Record
		if err := d.decode(got.AppendJSON(nil), &again); err != nil || !sameRecord(again, m.record()) {
			t.Fatalf("%q: written as %s, read back %+v, %v", line, got.AppendJSON(nil), again, err)
		}
	})
}

// Strings are written as JSON strings: quotes, backslashes and control
// characters escaped, invalid UTF-8 replaced.
func TestAppendString(t *testing.T) {
	for in, want := range map[string]string{
		"a\"b\\c\n\x01\t\r": "a\"b\\c\n\x01\t\r",
		"é\xff":             "é\ufffd",
		"Msg #1 from Middleware 2: Bid 130 on Lamp": "Msg #1 from Middleware 2: Bid 130 on Lamp",
		"\u2028<>&": "\u2028<>&",
	} {
		for _, got := range [][]byte{appendString(nil, in), appendString(nil, []byte(in))} {
			var back string
			if err := json.Unmarshal(got, &back); err != nil || back != want {
				t.Errorf("%q → %s → %q, %v; want %q", in, got, back, err, want)
			}
		}
	}
}
