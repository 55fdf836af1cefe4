package debugserve

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

func TestOffByDefault(t *testing.T) {
	t.Setenv(Env, "")
	stop, err := FromEnv()
	if err != nil {
		t.Fatal(err)
	}
	stop()
}

func TestServesHeapProfile(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	t.Setenv(Env, addr)
	stop, err := FromEnv()
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	resp, err := http.Get("http://" + addr + "/debug/pprof/heap?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "heap profile") {
		t.Errorf("GET heap: %s\n%.200s", resp.Status, body)
	}
}

func TestLoopbackOnly(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:6061", ":6061", "192.0.2.1:6061", "nonsense"} {
		if stop, err := Serve(addr); err == nil {
			stop()
			t.Errorf("Serve(%q) accepted an address that is not loopback", addr)
		}
	}
}
