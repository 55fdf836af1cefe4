package evlog

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"

	"totalorder/internal/evlog/evlogtest"
)

// filled is a Record with every field set to a value of its own, found by
// reflection: a field added to Record is in it without touching this
// test.
func filled(t testing.TB) Record {
	t.Helper()
	var r Record
	v := reflect.ValueOf(&r).Elem()
	for i := 0; i < v.NumField(); i++ {
		f := v.Field(i)
		name := v.Type().Field(i).Name
		switch f.Kind() {
		case reflect.Int, reflect.Int64:
			f.SetInt(int64(1000 + i))
		case reflect.Uint64:
			f.SetUint(uint64(2000 + i))
		case reflect.Uint8: // Event
			f.SetUint(uint64(Copy))
		case reflect.Bool:
			f.SetBool(true)
		case reflect.String:
			f.SetString(name + ` "quoted" é`)
		case reflect.Slice:
			f.SetBytes([]byte("Msg #3 from Middleware 2: " + name))
		default:
			t.Fatalf("Record.%s: a %s; teach this test that kind", name, f.Kind())
		}
	}
	return r
}

// TestEveryFieldRoundTrips: every field of Record is written and read
// back, under its tag's name. This is what makes a new field one file's
// work: add it to Record (with its name as the tag), AppendJSON and
// decodeField in record.go; this test fails until all three agree (and
// FuzzDecodeLikeEncodingJSON, whose first seed is this record, until
// decodeField reads it as encoding/json reads the tag's name), and the
// writers and readers carry it with no other change.
func TestEveryFieldRoundTrips(t *testing.T) {
	want := filled(t)
	line := want.AppendJSON(nil)
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(line, &obj); err != nil {
		t.Fatalf("%s: %v", line, err)
	}
	if n := reflect.TypeOf(want).NumField(); len(obj) != n {
		t.Errorf("%d keys written for %d fields (a field not written, or two under one name):\n%s", len(obj), n, line)
	}
	var buf bytes.Buffer
	w := NewWriter(nopFile{&buf}, "x.jsonl", Options{})
	w.Write(&want)
	w.Flush(testNow)
	rd := NewReader(&buf)
	got, err := rd.Next()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*got, want) {
		gv, wv := reflect.ValueOf(*got), reflect.ValueOf(want)
		for i := 0; i < gv.NumField(); i++ {
			if !reflect.DeepEqual(gv.Field(i).Interface(), wv.Field(i).Interface()) {
				t.Errorf("Record.%s: wrote %v, read back %v (is it in AppendJSON and decodeField?)",
					gv.Type().Field(i).Name, wv.Field(i).Interface(), gv.Field(i).Interface())
			}
		}
	}
	// One field at a time: each is read back alone, into itself only.
	v := reflect.ValueOf(&want).Elem()
	for i := 0; i < v.NumField(); i++ {
		var one Record
		reflect.ValueOf(&one).Elem().Field(i).Set(v.Field(i))
		line := one.AppendJSON(nil)
		name, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("evlog"), ",")
		if name == "" || !bytes.Contains(line, []byte(`"`+name+`":`)) {
			t.Errorf("Record.%s alone: written as %s, not under its tag's name %q", v.Type().Field(i).Name, line, name)
		}
		var back Record
		var d decoder
		err := d.decode(line, &back)
		if errors.Is(err, ErrIncomplete) {
			err = nil // (a copy without its time: read all the same)
		}
		if err != nil || !reflect.DeepEqual(back, one) {
			t.Errorf("Record.%s alone: %s read back as %+v, %v", v.Type().Field(i).Name, line, back, err)
		}
	}
}

// Zero fields are not written, except where zero means something.
func TestZeroRecordIsEmptyObject(t *testing.T) {
	if got := string((&Record{}).AppendJSON(nil)); got != "{}" {
		t.Errorf("zero record written as %s, want {}", got)
	}
	// Fields written even when zero, because zero means something there.
	for _, c := range []struct {
		r    Record
		want string
	}{
		{Record{Event: Copy, TS: 5, To: 1}, `{"event":"copy","ts_us":5,"to":1,"delay_us":0}`},
		{Record{Event: Leader, TS: 5}, `{"event":"leader","ts_us":5,"leader":0}`},
		{Record{Event: Sent, Msg: []byte{}, TS: 5}, `{"event":"sent","msg":"","ts_us":5}`},
	} {
		if got := string(c.r.AppendJSON(nil)); got != c.want {
			t.Errorf("%+v written as %s, want %s", c.r, got, c.want)
		}
	}
}

func TestEventNames(t *testing.T) {
	seen := map[string]bool{}
	for e := Sent; e < numEvents; e++ {
		name := e.String()
		if name == "" || seen[name] {
			t.Errorf("event %d: name %q missing or taken", e, name)
		}
		seen[name] = true
		if ParseEvent([]byte(name)) != e {
			t.Errorf("%q parses as %v", name, ParseEvent([]byte(name)))
		}
		line := (&Record{Event: e, TS: 1}).AppendJSON(nil)
		if !bytes.HasPrefix(line, []byte(`{"event":"`+name+`"`)) {
			t.Errorf("%s: the event does not come first", line)
		}
	}
	if ParseEvent([]byte("started")) != Unknown || Unknown.String() != "" {
		t.Error("an unknown event")
	}
	if !Ready.List() || Diverged.List() || Lost.List() {
		t.Error("List")
	}
}

// A line without what its event needs is not a record.
func TestIncomplete(t *testing.T) {
	for _, c := range []struct {
		line string
		ok   bool
	}{
		{`{"event":"sent","msg":"m","ts_us":1}`, true},
		{`{"event":"sent","msg":"","ts_us":0}`, true},
		{`{"event":"received","ts_us":3}`, false},
		{`{"event":"ready","msg":"m"}`, false},
		{`{"event":"ready","msg":"m","ts_us":null}`, false},
		{`{"event":"ready","msg":null,"ts_us":1}`, false},
		{`{"event":"lost","ts_us":3}`, true},
		{`{"event":"lost","count":3}`, false},
		{`{"event":"mark","label":"x"}`, false},
		{`{"event":"copy","msg":"m","ts_us":3,"to":1}`, true},
		{`{"event":"copy","to":1,"ts_us":3}`, false},
		{`{"event":"started"}`, true},
		{`{}`, true},
	} {
		var r Record
		var d decoder
		err := d.decode([]byte(c.line), &r)
		if (err == nil) != c.ok || err != nil && !errors.Is(err, ErrIncomplete) {
			t.Errorf("%s: %v, want complete %v", c.line, err, c.ok)
		}
	}
}

// nopFile is a File over a buffer.
type nopFile struct{ b *bytes.Buffer }

func (f nopFile) Write(p []byte) (int, error) { return f.b.Write(p) }
func (f nopFile) Truncate(size int64) error {
	f.b.Truncate(int(size))
	return nil
}
func (f nopFile) Stat() (os.FileInfo, error) { return evlogtest.Size(int64(f.b.Len())), nil }
func (f nopFile) Close() error               { return nil }
