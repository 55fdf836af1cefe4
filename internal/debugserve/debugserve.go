// Package debugserve serves Go's runtime profiles (net/http/pprof) when
// the environment asks for it, for measuring a window's memory and
// processor time in a running lab. Off by default:
//
//	TOTALORDER_PPROF=127.0.0.1:6061 bin/middleware -id 1 …
//	go tool pprof -sample_index=inuse_space http://127.0.0.1:6061/debug/pprof/heap
//
// The address must be a loopback one: the profiles show message texts.
package debugserve

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"time"
)

// Env names the variable that holds the address to serve on.
const Env = "TOTALORDER_PPROF"

// FromEnv starts serving the profiles on the address in $TOTALORDER_PPROF,
// if set, and returns the function that stops the server and waits for it.
// Unset, it does nothing and returns a no-op. A bad address or one that is
// not loopback is an error; the caller decides whether that is fatal.
func FromEnv() (stop func(), err error) {
	addr := os.Getenv(Env)
	if addr == "" {
		return func() {}, nil
	}
	return Serve(addr)
}

// Serve serves the profiles on addr (host:port, loopback only) until stop
// is called; stop waits for the server's goroutine to end.
func Serve(addr string) (stop func(), err error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("%s=%q: %w", Env, addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("%s=%q: want a loopback address such as 127.0.0.1:6061 (the profiles show message texts)", Env, addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", Env, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintf(os.Stderr, "%s: %v\n", Env, err)
		}
	}()
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if srv.Shutdown(ctx) != nil {
			srv.Close()
		}
		<-done
	}, nil
}
