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

// mirrorType is Record as encoding/json decodes it, made from Record's
// tags: a pointer for each field (null and absent alike read as zero, as
// in Record), the event's name and the message as strings, a text field
// (Run) raw.
var mirrorType = func() reflect.Type {
	rt := reflect.TypeOf(Record{})
	var fields []reflect.StructField
	for i := 0; i < rt.NumField(); i++ {
		f := rt.Field(i)
		name, opt, _ := strings.Cut(f.Tag.Get("evlog"), ",")
		typ := reflect.PointerTo(f.Type)
		switch {
		case opt == "text":
			typ = reflect.TypeOf(json.RawMessage(nil))
		case f.Type == reflect.TypeOf(Event(0)) || f.Type.Kind() == reflect.Slice:
			typ = reflect.TypeOf((*string)(nil))
		}
		fields = append(fields, reflect.StructField{Name: f.Name, Type: typ, Tag: reflect.StructTag(`json:"` + name + `"`)})
	}
	return reflect.StructOf(fields)
}()

// fromMirror converts what encoding/json read into a Record (m is a
// pointer to a mirrorType).
func fromMirror(m reflect.Value) Record {
	var r Record
	rv := reflect.ValueOf(&r).Elem()
	m = m.Elem()
	for i := 0; i < rv.NumField(); i++ {
		src, dst := m.Field(i), rv.Field(i)
		if raw, ok := src.Interface().(json.RawMessage); ok {
			if len(raw) > 0 && string(raw) != "null" {
				var s string
				if json.Unmarshal(raw, &s) != nil {
					s = string(raw)
				}
				dst.SetString(s)
			}
			continue
		}
		if src.IsNil() {
			continue
		}
		v := src.Elem()
		switch {
		case dst.Type() == reflect.TypeOf(Event(0)):
			dst.Set(reflect.ValueOf(ParseEvent([]byte(v.String()))))
		case dst.Kind() == reflect.Slice:
			dst.SetBytes([]byte(v.String()))
		default:
			dst.Set(v)
		}
	}
	return r
}

// mirrorComplete is Record.complete for what encoding/json read: a time,
// and a message for the events about one.
func mirrorComplete(m reflect.Value) bool {
	m = m.Elem()
	ev := Unknown
	if e := m.FieldByName("Event"); !e.IsNil() {
		ev = ParseEvent([]byte(e.Elem().String()))
	}
	hasTS, hasMsg := !m.FieldByName("TS").IsNil(), !m.FieldByName("Msg").IsNil()
	switch ev {
	case Unknown:
		return true
	case Sent, Received, Ready, Diverged, Accepted, Copy, Drop:
		return hasTS && hasMsg
	}
	return hasTS
}

// foldsOntoAKey reports whether line has a key that encoding/json would
// match to a field ignoring case, which this package does not.
func foldsOntoAKey(line []byte) bool {
	var obj map[string]json.RawMessage
	if json.Unmarshal(line, &obj) != nil {
		return false
	}
	names := map[string]bool{}
	for i := 0; i < mirrorType.NumField(); i++ {
		names[mirrorType.Field(i).Tag.Get("json")] = true
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
	all := filled(f)
	f.Add(all.AppendJSON(nil)) // every field
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
		m := reflect.New(mirrorType)
		jerr := json.Unmarshal(line, m.Interface())
		if errors.Is(err, ErrIncomplete) {
			if jerr != nil || mirrorComplete(m) {
				t.Fatalf("%q: incomplete; encoding/json: %v, %+v", line, jerr, m.Elem())
			}
			return
		}
		if jerr == nil && !mirrorComplete(m) {
			t.Fatalf("%q: decode: %v; encoding/json: incomplete", line, err)
		}
		if (err == nil) != (jerr == nil) {
			t.Fatalf("%q: decode: %v; encoding/json: %v", line, err, jerr)
		}
		if err != nil {
			return
		}
		want := fromMirror(m)
		if !sameRecord(got, want) {
			t.Fatalf("%q:\ndecoded       %+v\nencoding/json %+v", line, got, want)
		}
		// What is read is written back as it was read.
		var again Record
		if err := d.decode(got.AppendJSON(nil), &again); err != nil || !sameRecord(again, want) {
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
