package fleet

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// TestEnvCloseClosesAPIConnections: the API's kept-alive connections are
// closed with the Env, so that a daemon applying every few minutes with a
// fresh Env each time does not pile them up.
func TestEnvCloseClosesAPIConnections(t *testing.T) {
	var open atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`<response><returncode>SUCCESS</returncode><version>2.0</version></response>`))
	}))
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		switch st {
		case http.StateNew:
			open.Add(1)
		case http.StateClosed, http.StateHijacked:
			open.Add(-1)
		}
	}
	srv.Start()
	defer srv.Close()
	cfg := &Config{}
	s := Server{Name: "bbb1", Host: "127.0.0.1"}
	s.API.URL = srv.URL + "/bigbluebutton/api/"
	s.API.Timeout = Duration(5 * time.Second)
	env := NewEnv(cfg, nil, RunOptions{Timeout: 5 * time.Second})
	c, err := env.APIUnsigned(s)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Root(context.Background()); err != nil {
		t.Fatal(err)
	}
	if open.Load() != 1 {
		t.Fatalf("%d connections open after the call, want 1 (kept alive)", open.Load())
	}
	env.Close()
	deadline := time.Now().Add(5 * time.Second)
	for open.Load() != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := open.Load(); n != 0 {
		t.Errorf("%d API connections still open after Close", n)
	}
}
