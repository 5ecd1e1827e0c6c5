package sim

import (
	"encoding/json"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

// TestChecksumAllPublicVectors: the stand-in computes and accepts every public checksum vector (the
// same file the client's tests use: pkg/bbb/testdata/checksums.json).
func TestChecksumAllPublicVectors(t *testing.T) {
	data, err := os.ReadFile("../../pkg/bbb/testdata/checksums.json")
	if err != nil {
		t.Fatal(err)
	}
	var vectors []struct{ Call, Query, Secret, Algorithm, Checksum string }
	if err := json.Unmarshal(data, &vectors); err != nil {
		t.Fatal(err)
	}
	if len(vectors) == 0 {
		t.Fatal("no vectors")
	}
	for _, v := range vectors {
		got, err := Checksum(v.Algorithm, v.Call, v.Query, v.Secret)
		if err != nil || got != v.Checksum {
			t.Errorf("%s %s?%s: %s %v, want %s", v.Algorithm, v.Call, v.Query, got, err, v.Checksum)
		}
	}
	// And the API stand-in accepts them on the wire (getMeetingInfo: the
	// calls it serves), upper case too (BBB 2.5+ compares case-insensitively):
	// whatever it answers, it is not a checksumError.
	st := DefaultState("bbb1")
	h := NewHost(NewMemStore(st), Options{})
	onWire := 0
	for _, v := range vectors {
		if v.Call != "getMeetingInfo" {
			continue
		}
		onWire++
		h.Update(func(s *State) error { s.Secret = v.Secret; return nil })
		for _, sum := range []string{v.Checksum, strings.ToUpper(v.Checksum)} {
			rec := httptest.NewRecorder()
			h.APIHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/bigbluebutton/api/getMeetingInfo?"+v.Query+"&checksum="+sum, nil))
			if body := rec.Body.String(); strings.Contains(body, "checksumError") || !strings.Contains(body, "<response>") {
				t.Errorf("%s getMeetingInfo?%s checksum %s: %s", v.Algorithm, v.Query, sum, body)
			}
		}
	}
	if onWire == 0 {
		t.Error("no vector was tried on the wire")
	}
}
