package bbb

import (
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"
)

type checksumVector struct {
	Call      string `json:"call"`
	Query     string `json:"query"`
	Secret    string `json:"secret"`
	Algorithm string `json:"algorithm"`
	Checksum  string `json:"checksum"`
	Source    string `json:"source"`
}

func TestChecksumVectorsFile(t *testing.T) {
	raw, err := os.ReadFile("testdata/checksums.json")
	if err != nil {
		t.Fatal(err)
	}
	var vs []checksumVector
	if err := json.Unmarshal(raw, &vs); err != nil {
		t.Fatal(err)
	}
	if len(vs) != 15 {
		t.Fatalf("checksums.json: %d vectors, want 15", len(vs))
	}
	for _, v := range vs {
		t.Run(v.Algorithm+"/"+v.Call+"?"+v.Query, func(t *testing.T) {
			got, err := Checksum(v.Algorithm, v.Call, v.Query, v.Secret)
			if err != nil {
				t.Fatal(err)
			}
			if got != v.Checksum {
				t.Errorf("Checksum = %s, want %s (%s)", got, v.Checksum, v.Source)
			}
		})
	}
}

func TestChecksumReference(t *testing.T) {
	const secret = "639259d4-9dd8-4b25-bf01-95f9567eaf4b"
	tests := []struct {
		algo, call, query, want string
	}{
		{"sha1", "create", "name=Test+Meeting&meetingID=abc123&attendeePW=111222&moderatorPW=333444", "1fcbb0c4fc1f039f73aa6d697d2db9ba7f803f17"},
		{"sha1", "getMeetings", "", "2027baa7771026e9e93392f55031535d1444c41f"},
		{"sha256", "getMeetings", "", "a5370c5f3d97d56d53b435684cdbc429c2898a3bf9f435518b4279e1e0dbfc8c"},
		{"SHA256", "getMeetings", "", "a5370c5f3d97d56d53b435684cdbc429c2898a3bf9f435518b4279e1e0dbfc8c"},
	}
	for _, tt := range tests {
		got, err := Checksum(tt.algo, tt.call, tt.query, secret)
		if err != nil || got != tt.want {
			t.Errorf("Checksum(%s, %s, %q) = %s, %v; want %s", tt.algo, tt.call, tt.query, got, err, tt.want)
		}
	}
}

func TestChecksumSHA384SHA512(t *testing.T) {
	const call, query, secret = "getMeetingInfo", "meetingID=a%26b+%C3%A4", "s3cr3t"
	in := []byte(call + query + secret)
	s384 := sha512.Sum384(in)
	s512 := sha512.Sum512(in)
	tests := []struct {
		algo, want string
		hexLen     int
	}{
		{"sha384", hex.EncodeToString(s384[:]), 96},
		{"sha512", hex.EncodeToString(s512[:]), 128},
	}
	for _, tt := range tests {
		got, err := Checksum(tt.algo, call, query, secret)
		if err != nil {
			t.Fatal(err)
		}
		if got != tt.want || len(got) != tt.hexLen {
			t.Errorf("%s: got %s, want %s (len %d)", tt.algo, got, tt.want, tt.hexLen)
		}
	}
}

func TestChecksumLengthsAndErrors(t *testing.T) {
	want := map[string]int{"sha1": 40, "sha256": 64, "sha384": 96, "sha512": 128}
	for _, a := range Algorithms {
		if !ValidAlgorithm(a) {
			t.Errorf("ValidAlgorithm(%q) = false", a)
		}
		s, err := Checksum(a, "x", "", "y")
		if err != nil || len(s) != want[a] {
			t.Errorf("Checksum(%s): len %d, err %v", a, len(s), err)
		}
	}
	for _, bad := range []string{"", "md5", "sha224", "sha-256", "sha3-256"} {
		if ValidAlgorithm(bad) {
			t.Errorf("ValidAlgorithm(%q) = true", bad)
		}
		if _, err := Checksum(bad, "x", "", "y"); err == nil {
			t.Errorf("Checksum(%q): no error", bad)
		}
	}
}
