// Package evlog owns the lab's events logs: the record every line holds
// (Record, one JSON object a line), the one writer of them (Writer: the
// middleware's -events and the network program's -events alike) and the
// one reader (Reader for a whole log, Tail for one being written), which
// the order checker, the timeline, the lab harness and the middleware's
// restart logic use.
//
// A middleware's log (logs/middleware-I.jsonl):
//
//	{"event":"sent","msg":"Msg #3 from Middleware 2","ts_us":1700000000000000,"mw":2,"run":"1700000000000000"}
//	{"event":"received","msg":"Msg #3 from Middleware 2","ts_us":…,"recovered":true,"mw":2,"run":"…"}
//	{"event":"ready","msg":"Msg #3 from Middleware 2","ts_us":…,"seq":7,"mw":2,"run":"…"}
//	{"event":"diverged","msg":"Msg #3 from Middleware 2","ts_us":…,"seq":7,"peer":3,"there":"Msg #1 from Middleware 3",…}
//	{"event":"lost","ts_us":…,"count":12,"from_ts_us":…,"to_ts_us":…,"error":"no space left","final":true,…}
//	{"event":"control","ts_us":…,"peer":3,"dir":"out","kind":"MsgApp",…}
//	{"event":"leader","ts_us":…,"leader":3,"term":2,…}
//	{"event":"mark","ts_us":…,"label":"cut off",…}
//
// The network program's (logs/netsim.jsonl):
//
//	{"event":"accepted","id":7,"msg":"Msg #1 from Middleware 2","ts_us":…}
//	{"event":"copy","id":7,"msg":"Msg #1 from Middleware 2","ts_us":…,"to":3,"delay_us":812000}
//	{"event":"drop","id":7,"msg":"Msg #1 from Middleware 2","ts_us":…,"to":4}
//
// Readers take fields by name in any order and skip the ones they do not
// know, so logs written before this package, through a logging library
// ("level":"info", "time":"…" in every line), read the same.
//
// A new field is one file: record.go (the field, how it is written, how
// it is read).
package evlog
