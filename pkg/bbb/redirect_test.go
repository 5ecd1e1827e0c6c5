package bbb

import (
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestClientNeverFollowsRedirects: a redirect to another loopback listener
// (plain http, from http and from https) is reported as a RedirectError
// naming the Location without its query, the other listener is never
// contacted, and no request carries a Referer.
func TestClientNeverFollowsRedirects(t *testing.T) {
	var otherHits atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		otherHits.Add(1)
		_, _ = io.WriteString(w, handmadeGetMeetings)
	}))
	defer other.Close()

	for _, code := range []int{301, 302, 303, 307, 308} {
		for _, scheme := range []string{"http", "https"} {
			t.Run(scheme+"-"+http.StatusText(code), func(t *testing.T) {
				var referers atomic.Int32
				h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if r.Header.Get("Referer") != "" {
						referers.Add(1)
					}
					// As nginx's "return 301 http://…$request_uri" would:
					// the signed query goes along.
					http.Redirect(w, r, other.URL+r.URL.RequestURI(), code)
				})
				var srv *httptest.Server
				if scheme == "https" {
					srv = httptest.NewUnstartedServer(h)
					srv.Config.ErrorLog = log.New(io.Discard, "", 0)
					srv.StartTLS()
				} else {
					srv = httptest.NewServer(h)
				}
				defer srv.Close()
				// Both the client the tool builds and a caller's client
				// with Go's default redirect policy.
				hc, err := NewHTTPClient("", 5*time.Second)
				if err != nil {
					t.Fatal(err)
				}
				if scheme == "https" {
					hc = srv.Client()
				}
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				for _, client := range []*http.Client{hc, {Transport: srv.Client().Transport}} {
					c := &Client{BaseURL: srv.URL + "/bigbluebutton/api/", Secret: testSecret, Server: "bbb1", HTTP: client}
					_, err := c.GetMeetings(ctx)
					var re *RedirectError
					if !errors.As(err, &re) {
						t.Fatalf("GetMeetings: %T %v, want a RedirectError", err, err)
					}
					want := other.URL + "/bigbluebutton/api/getMeetings"
					if re.StatusCode != code || re.Location != want || re.Suggested != other.URL+"/bigbluebutton/api/" {
						t.Errorf("got %+v, want Location %s", re, want)
					}
					msg := err.Error()
					if !strings.HasPrefix(msg, "bbb1: the API redirects (HTTP ") || !strings.Contains(msg, want) ||
						!strings.Contains(msg, "set api.url to "+other.URL+"/bigbluebutton/api/") {
						t.Errorf("message %q", msg)
					}
					if strings.Contains(msg, "checksum") {
						t.Errorf("message repeats the signed query: %q", msg)
					}
					if got := Reason(err); !strings.HasPrefix(got, "redirect (HTTP ") {
						t.Errorf("Reason %q", got)
					}
					// The unsigned root call and the signed isMeetingRunning too.
					if _, err := c.Root(ctx); !errors.As(err, &re) || re.Suggested != other.URL+"/bigbluebutton/api/" {
						t.Errorf("Root: %v", err)
					}
					if _, err := c.IsMeetingRunning(ctx, "x"); !errors.As(err, &re) {
						t.Errorf("IsMeetingRunning: %v", err)
					}
				}
				if n := otherHits.Load(); n != 0 {
					t.Fatalf("the redirect target was contacted %d times", n)
				}
				if n := referers.Load(); n != 0 {
					t.Errorf("%d requests carried a Referer", n)
				}
			})
		}
	}
}

func TestRedirectWithoutLocation(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusFound)
	}))
	defer srv.Close()
	c := &Client{BaseURL: srv.URL + "/bigbluebutton/api/", Secret: testSecret, Server: "bbb1"}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := c.GetMeetings(ctx)
	var re *RedirectError
	if !errors.As(err, &re) || re.Location != "" || !strings.Contains(err.Error(), "HTTP 302 Found without a usable Location") {
		t.Fatalf("%v", err)
	}
}
