package evlog

import (
	"errors"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// The JSON this package writes and reads: one object a line. Writing
// appends without allocating; reading decodes what encoding/json would
// decode into the Record (FuzzDecodeLikeEncodingJSON holds it to that),
// except that keys match exactly, not ignoring case.

func appendKey(b []byte, key string) []byte {
	if len(b) > 1 { // after "{"
		b = append(b, ',')
	}
	b = append(b, '"')
	b = append(b, key...)
	return append(b, '"', ':')
}

func appendInt64(b []byte, v int64) []byte { return strconv.AppendInt(b, v, 10) }

// appendInt, appendUint, appendBool and appendStr append a field unless
// it is zero; the test is inlined, so the many zero fields of a record
// cost little.
func appendInt(b []byte, key string, v int64) []byte {
	if v == 0 {
		return b
	}
	return appendIntField(b, key, v)
}

func appendIntField(b []byte, key string, v int64) []byte {
	return strconv.AppendInt(appendKey(b, key), v, 10)
}

func appendUint(b []byte, key string, v uint64) []byte {
	if v == 0 {
		return b
	}
	return appendUintField(b, key, v)
}

func appendUintField(b []byte, key string, v uint64) []byte {
	return strconv.AppendUint(appendKey(b, key), v, 10)
}

func appendBool(b []byte, key string, v bool) []byte {
	if !v {
		return b
	}
	return append(appendKey(b, key), "true"...)
}

func appendStr(b []byte, key, s string) []byte {
	if s == "" {
		return b
	}
	return appendStrField(b, key, s)
}

func appendStrField(b []byte, key, s string) []byte {
	return appendString(appendKey(b, key), s)
}

// appendString appends s as a JSON string: quotes, backslashes and
// control characters escaped, invalid UTF-8 replaced by U+FFFD.
func appendString[T ~string | ~[]byte](b []byte, s T) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if plain[c] {
			i++
			continue
		}
		b = append(b, s[start:i]...)
		if c < utf8.RuneSelf {
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := decodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, "\ufffd"...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// plain are the bytes a JSON string holds as they are.
var plain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func decodeRune[T ~string | ~[]byte](s T) (rune, int) {
	switch v := any(s).(type) {
	case string:
		return utf8.DecodeRuneInString(v)
	case []byte:
		return utf8.DecodeRune(v)
	}
	return utf8.DecodeRuneInString(string(s))
}

// errSyntax is a line that is not JSON; errType one whose field has a
// value of the wrong type.
var (
	errSyntax = errors.New("not a JSON object")
	errType   = errors.New("a field of the wrong type")
	errDepth  = errors.New("nested too deeply")
)

// ErrIncomplete is a line without what its event needs: a time, and for
// an event about a message, the message.
var ErrIncomplete = errors.New("a record without its time or message")

// decoder decodes lines into records; its buffers are reused.
type decoder struct {
	v       value
	scratch []byte            // unescaped strings of the current line
	intern  map[string]string // repeated strings: run ids, kinds, labels
	hasTS   bool              // the line has a "ts_us"
}

// maxInterned bounds decoder.intern.
const maxInterned = 1024

// decode reads one line into r (zeroed first).
func (d *decoder) decode(line []byte, r *Record) error {
	*r = Record{}
	d.scratch, d.hasTS = d.scratch[:0], false
	v := &d.v
	*v = value{data: line, d: d}
	v.ws()
	if v.literal("null") {
		// encoding/json decodes null into a struct as nothing at all.
	} else if err := v.object(r); err != nil {
		return err
	}
	v.ws()
	if v.pos != len(v.data) {
		return errSyntax
	}
	if !r.complete(d.hasTS) {
		return ErrIncomplete
	}
	return nil
}

// value is a position in a line, at a value being decoded.
type value struct {
	data []byte
	pos  int
	d    *decoder
}

func (v *value) ws() {
	for v.pos < len(v.data) {
		switch v.data[v.pos] {
		case ' ', '\t', '\n', '\r':
			v.pos++
		default:
			return
		}
	}
}

func (v *value) peek() byte {
	if v.pos < len(v.data) {
		return v.data[v.pos]
	}
	return 0
}

func (v *value) literal(lit string) bool {
	if len(v.data)-v.pos >= len(lit) && string(v.data[v.pos:v.pos+len(lit)]) == lit {
		v.pos += len(lit)
		return true
	}
	return false
}

// object reads the top-level object into r.
func (v *value) object(r *Record) error {
	if v.peek() != '{' {
		return v.notObject()
	}
	v.pos++
	v.ws()
	if v.peek() == '}' {
		v.pos++
		return nil
	}
	for {
		v.ws()
		if v.peek() != '"' {
			return errSyntax
		}
		key, err := v.str()
		if err != nil {
			return err
		}
		v.ws()
		if v.peek() != ':' {
			return errSyntax
		}
		v.pos++
		v.ws()
		if err := r.decodeField(key, v); err != nil {
			return err
		}
		v.ws()
		switch v.peek() {
		case ',':
			v.pos++
		case '}':
			v.pos++
			return nil
		default:
			return errSyntax
		}
	}
}

// notObject tells a line that is valid JSON but not an object (a type
// error for encoding/json) from one that is not JSON: both are errors.
func (v *value) notObject() error {
	if err := v.skipDepth(0); err != nil {
		return err
	}
	return errType
}

// str reads a string (at its opening quote) and returns its contents,
// unescaped: a slice of the line when it needs no unescaping, else of the
// decoder's scratch buffer.
func (v *value) str() ([]byte, error) {
	v.pos++ // the opening quote
	start := v.pos
	data := v.data
	for i := start; i < len(data); i++ {
		c := data[i]
		switch {
		case c == '"':
			v.pos = i + 1
			return data[start:i], nil
		case c == '\\' || c >= utf8.RuneSelf:
			return v.strSlow(start)
		case c < 0x20:
			return nil, errSyntax
		}
	}
	return nil, errSyntax
}

// strSlow unescapes the string starting at start (after its quote) into
// the scratch buffer, as encoding/json does: invalid UTF-8 and unpaired
// surrogates become U+FFFD.
func (v *value) strSlow(start int) ([]byte, error) {
	d := v.d
	from := len(d.scratch)
	b := d.scratch
	data := v.data
	i := start
	for i < len(data) {
		c := data[i]
		switch {
		case c == '"':
			v.pos = i + 1
			d.scratch = b
			return b[from:len(b):len(b)], nil
		case c < 0x20:
			return nil, errSyntax
		case c == '\\':
			if i+1 >= len(data) {
				return nil, errSyntax
			}
			switch e := data[i+1]; e {
			case '"', '\\', '/':
				b = append(b, e)
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				r := hex4(data[i+2:])
				if r < 0 {
					return nil, errSyntax
				}
				i += 6
				if utf16.IsSurrogate(r) {
					if len(data)-i >= 6 && data[i] == '\\' && data[i+1] == 'u' {
						if r2 := hex4(data[i+2:]); r2 >= 0 {
							if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
								b = utf8.AppendRune(b, dec)
								i += 6
								continue
							}
						}
					}
					r = utf8.RuneError
				}
				b = utf8.AppendRune(b, r)
				continue
			default:
				return nil, errSyntax
			}
			i += 2
		case c < utf8.RuneSelf:
			b = append(b, c)
			i++
		default:
			r, size := utf8.DecodeRune(data[i:])
			if r == utf8.RuneError && size == 1 {
				b = append(b, "\ufffd"...)
			} else {
				b = append(b, data[i:i+size]...)
			}
			i += size
		}
	}
	return nil, errSyntax
}

// hex4 reads four hex digits, or returns -1.
func hex4(s []byte) rune {
	if len(s) < 4 {
		return -1
	}
	var r rune
	for _, c := range s[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}

// number reads a JSON number and returns its text.
func (v *value) number() ([]byte, error) {
	data, i := v.data, v.pos
	start := i
	if i < len(data) && data[i] == '-' {
		i++
	}
	switch {
	case i < len(data) && data[i] == '0':
		i++
	case i < len(data) && '1' <= data[i] && data[i] <= '9':
		for i < len(data) && '0' <= data[i] && data[i] <= '9' {
			i++
		}
	default:
		return nil, errSyntax
	}
	if i < len(data) && data[i] == '.' {
		i++
		if i >= len(data) || data[i] < '0' || data[i] > '9' {
			return nil, errSyntax
		}
		for i < len(data) && '0' <= data[i] && data[i] <= '9' {
			i++
		}
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		if i >= len(data) || data[i] < '0' || data[i] > '9' {
			return nil, errSyntax
		}
		for i < len(data) && '0' <= data[i] && data[i] <= '9' {
			i++
		}
	}
	v.pos = i
	return data[start:i], nil
}

// maxDepth bounds nesting in skipped values, as encoding/json does.
const maxDepth = 10000

func (v *value) skip() error { return v.skipDepth(0) }

func (v *value) skipDepth(depth int) error {
	switch c := v.peek(); c {
	case '"':
		_, err := v.str()
		return err
	case '{', '[':
		if depth >= maxDepth {
			return errDepth
		}
		end := byte('}')
		if c == '[' {
			end = ']'
		}
		v.pos++
		v.ws()
		if v.peek() == end {
			v.pos++
			return nil
		}
		for {
			v.ws()
			if c == '{' {
				if v.peek() != '"' {
					return errSyntax
				}
				if _, err := v.str(); err != nil {
					return err
				}
				v.ws()
				if v.peek() != ':' {
					return errSyntax
				}
				v.pos++
				v.ws()
			}
			if err := v.skipDepth(depth + 1); err != nil {
				return err
			}
			v.ws()
			switch v.peek() {
			case ',':
				v.pos++
			case end:
				v.pos++
				return nil
			default:
				return errSyntax
			}
		}
	case 't':
		if v.literal("true") {
			return nil
		}
	case 'f':
		if v.literal("false") {
			return nil
		}
	case 'n':
		if v.literal("null") {
			return nil
		}
	default:
		_, err := v.number()
		return err
	}
	return errSyntax
}

// typeErr skips a value of the wrong type: a syntax error in it wins.
func (v *value) typeErr() error {
	if err := v.skip(); err != nil {
		return err
	}
	return errType
}

func (v *value) event() (Event, error) {
	b, ok, err := v.strOrNull()
	if !ok {
		return Unknown, err
	}
	return ParseEvent(b), nil
}

// strOrNull reads a string (ok) or null (not ok, no error).
func (v *value) strOrNull() ([]byte, bool, error) {
	switch v.peek() {
	case '"':
		b, err := v.str()
		return b, err == nil, err
	case 'n':
		if v.literal("null") {
			return nil, false, nil
		}
	}
	return nil, false, v.typeErr()
}

// bytes reads a string as bytes; null is nil.
func (v *value) bytes() ([]byte, error) {
	b, ok, err := v.strOrNull()
	if !ok {
		return nil, err
	}
	if b == nil {
		b = v.data[v.pos:v.pos] // "": empty, not absent
	}
	return b, nil
}

// string reads a string; intern keeps one copy of a string that recurs
// (run ids, kinds, labels) instead of one per line.
func (v *value) string(intern bool) (string, error) {
	b, ok, err := v.strOrNull()
	if !ok {
		return "", err
	}
	return v.d.str(b, intern), nil
}

func (d *decoder) str(b []byte, intern bool) string {
	if !intern {
		return string(b)
	}
	if s, ok := d.intern[string(b)]; ok {
		return s
	}
	s := string(b)
	if d.intern == nil || len(d.intern) >= maxInterned {
		d.intern = make(map[string]string)
	}
	d.intern[s] = s
	return s
}

// text reads a string, or any other value as its JSON text (a run id
// written as a number); null is "".
func (v *value) text() (string, error) {
	switch v.peek() {
	case '"':
		b, err := v.str()
		return v.d.str(b, true), err
	case 'n':
		if v.literal("null") {
			return "", nil
		}
	}
	start := v.pos
	if err := v.skip(); err != nil {
		return "", err
	}
	return v.d.str(v.data[start:v.pos], true), nil
}

func (v *value) bool() (bool, error) {
	switch {
	case v.literal("true"):
		return true, nil
	case v.literal("false"), v.literal("null"):
		return false, nil
	}
	return false, v.typeErr()
}

// int reads an integer (null is 0); a fraction or exponent is a type
// error, as for encoding/json.
func (v *value) int() (int64, error) {
	neg, mag, ok, err := v.integer()
	if !ok {
		return 0, err
	}
	if neg {
		if mag > 1<<63 {
			return 0, errType
		}
		return -int64(mag), nil
	}
	if mag > 1<<63-1 {
		return 0, errType
	}
	return int64(mag), nil
}

func (v *value) intN() (int, error) {
	n, err := v.int()
	if err == nil && int64(int(n)) != n {
		return 0, errType
	}
	return int(n), err
}

func (v *value) uint() (uint64, error) {
	neg, mag, ok, err := v.integer()
	if !ok {
		return 0, err
	}
	if neg {
		return 0, errType // as strconv.ParseUint: even -0
	}
	return mag, nil
}

// integer reads a number that must be an integer: its sign and
// magnitude; ok is false for null and on errors.
func (v *value) integer() (neg bool, mag uint64, ok bool, err error) {
	switch c := v.peek(); {
	case c == 'n':
		if v.literal("null") {
			return false, 0, false, nil
		}
		return false, 0, false, errSyntax
	case c != '-' && (c < '0' || c > '9'):
		return false, 0, false, v.typeErr()
	}
	num, err := v.number()
	if err != nil {
		return false, 0, false, err
	}
	if num[0] == '-' {
		neg, num = true, num[1:]
	}
	for _, c := range num {
		if c < '0' || c > '9' {
			return false, 0, false, errType // a fraction or exponent
		}
		d := uint64(c - '0')
		if mag > (1<<64-1-d)/10 {
			return false, 0, false, errType // out of range
		}
		mag = mag*10 + d
	}
	return neg, mag, true, nil
}
