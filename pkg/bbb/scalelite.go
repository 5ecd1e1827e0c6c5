package bbb

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// Scalelite server states (reference §4): enabled, cordoned (no new
// meetings; the poller disables it at load 0), disabled.
const (
	ScaleliteEnabled  = "enabled"
	ScaleliteCordoned = "cordoned"
	ScaleliteDisabled = "disabled"
)

// ScaleliteServer is one entry of `bin/rake servers`. The secret Scalelite
// prints is never kept.
type ScaleliteServer struct {
	ID  string `json:"id"`
	URL string `json:"url"`
	// State is enabled, cordoned or disabled.
	State string `json:"state"`
	// Load is the load as printed, or "unavailable".
	Load           string `json:"load"`
	LoadMultiplier string `json:"load_multiplier"`
	// Online is the poller's view; OnlineKnown is false when the entry
	// had no online/offline line.
	Online      bool `json:"online"`
	OnlineKnown bool `json:"-"`
}

// scaleliteIDRe is what bbbfleet accepts as a Scalelite server ID: it is
// put inside a rake task argument (servers:cordon[ID]), where ',' and ']'
// would change the task's arguments.
var scaleliteIDRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`)

// ValidScaleliteID reports whether id may be used in a rake task argument.
func ValidScaleliteID(id string) bool { return scaleliteIDRe.MatchString(id) }

// containerRe is docker's rule for container names.
var containerRe = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$`)

// ValidContainer reports whether name is a valid docker container name.
func ValidContainer(name string) bool { return containerRe.MatchString(name) }

// RakeArgv is the command that runs a Scalelite rake task in the docker
// deployment: docker exec CONTAINER bin/rake TASK[ARGS]. No -i: the task
// gets no stdin, so an interactive task aborts instead of waiting.
func RakeArgv(container, task string, args ...string) []string {
	if len(args) > 0 {
		task += "[" + strings.Join(args, ",") + "]"
	}
	return []string{"docker", "exec", container, "bin/rake", task}
}

// ScaleliteServersArgv lists the servers (`bin/rake servers`).
func ScaleliteServersArgv(container string) []string { return RakeArgv(container, "servers") }

// ScaleliteStateArgv sets a server's state: "cordon" or "enable" (never
// "disable", which asks interactively when the server has load).
func ScaleliteStateArgv(container, action, id string) ([]string, error) {
	if action != "cordon" && action != "enable" {
		return nil, fmt.Errorf("scalelite: action %q is not cordon or enable", action)
	}
	if !ValidScaleliteID(id) {
		return nil, fmt.Errorf("scalelite: server id %q is not usable in a rake argument", id)
	}
	return RakeArgv(container, "servers:"+action, id), nil
}

// ParseScaleliteServers parses the output of `bin/rake servers`
// (lib/tasks/servers.rake): per server "id: ID", then tab-indented
// "url: …", "secret: …", the state word, "load: N", "load multiplier: N",
// "online"/"offline". Unknown lines (a tag in later versions) are skipped;
// "No servers are configured" gives none.
func ParseScaleliteServers(out string) ([]ScaleliteServer, error) {
	var list []ScaleliteServer
	var cur *ScaleliteServer
	for n, line := range strings.Split(out, "\n") {
		line = strings.TrimRight(line, "\r")
		t := strings.TrimSpace(line)
		if t == "" || t == "No servers are configured" {
			continue
		}
		if id, ok := strings.CutPrefix(line, "id: "); ok && !strings.HasPrefix(line, "\t") {
			list = append(list, ScaleliteServer{ID: strings.TrimSpace(id)})
			cur = &list[len(list)-1]
			continue
		}
		if cur == nil {
			return nil, fmt.Errorf("scalelite servers: line %d: %q before the first \"id:\" line", n+1, shortenLine(t))
		}
		k, v, hasColon := strings.Cut(t, ":")
		v = strings.TrimSpace(v)
		switch {
		case hasColon && k == "url":
			cur.URL = v
		case hasColon && k == "secret", hasColon && k == "tag":
		case hasColon && k == "load":
			cur.Load = v
		case hasColon && k == "load multiplier":
			cur.LoadMultiplier = v
		case !hasColon && (t == ScaleliteEnabled || t == ScaleliteCordoned || t == ScaleliteDisabled):
			cur.State = t
		case !hasColon && (t == "online" || t == "offline"):
			cur.Online, cur.OnlineKnown = t == "online", true
		}
	}
	for _, s := range list {
		if s.ID == "" || s.URL == "" || s.State == "" {
			return nil, fmt.Errorf("scalelite servers: entry %q lacks its url or state", shortenLine(s.ID))
		}
	}
	return list, nil
}

func shortenLine(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}

// SameServerURL reports whether a Scalelite server URL (…/bigbluebutton/api)
// and a BBB API URL (…/bigbluebutton/api/) name the same server: scheme
// and host compared without case, default ports dropped, paths without
// their trailing slash.
func SameServerURL(a, b string) bool {
	na, ok1 := normURL(a)
	nb, ok2 := normURL(b)
	return ok1 && ok2 && na == nb
}

func normURL(s string) (string, bool) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || u.Host == "" {
		return "", false
	}
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	scheme := strings.ToLower(u.Scheme)
	if scheme == "https" && port == "443" || scheme == "http" && port == "80" {
		port = ""
	}
	if port != "" {
		host += ":" + port
	}
	return scheme + "://" + host + strings.TrimRight(u.EscapedPath(), "/"), true
}
