package ssh

import "strconv"

// Target is where a Config leads once ~/.ssh/config and the defaults are
// applied, without dialling: for display and dry runs.
type Target struct {
	User     string
	HostName string
	Port     int
	// Jumps are the ProxyJump hops, as user@host:port.
	Jumps []string
}

// String is user@host:port.
func (t Target) String() string {
	return t.User + "@" + joinHostPort(t.HostName, t.Port)
}

// Resolve applies ~/.ssh/config (or Config.SSHConfigFile) and the defaults
// to cfg as Dial would, and says where it leads. It reads files only.
func Resolve(cfg Config) (Target, error) {
	r, err := resolve(cfg)
	if err != nil {
		return Target{}, err
	}
	t := Target{User: r.target.user, HostName: r.target.hostname, Port: r.target.port}
	for _, j := range r.jumps {
		t.Jumps = append(t.Jumps, j.user+"@"+j.hostname+":"+strconv.Itoa(j.port))
	}
	return t, nil
}
