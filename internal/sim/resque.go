package sim

import (
	"slices"
	"sort"
	"strings"
)

// Recording processing in Resque (reference §5): BBB 2.6+ enqueues the
// archive job in Redis and later stages follow there; a worker's process
// title names the queue of the job it processes.

// resqueWorkerClass is the job class a worker's title shows per queue.
var resqueWorkerClass = map[string]string{
	"rap:archive": "ArchiveWorker", "rap:sanity": "SanityWorker", "rap:process": "ProcessWorker",
	"rap:publish": "PublishWorker", "rap:events": "EventsWorker",
}

// cmdRedisCli answers `redis-cli [--raw] ping`, `smembers resque:queues`
// and `llen resque:queue:NAME` from the state.
func cmdRedisCli(c *cmd) int {
	s, err := c.state()
	if err != nil {
		c.errf("redis-cli: %v\n", err)
		return 1
	}
	var args []string
	for _, a := range c.args[1:] {
		if a != "--raw" && a != "--no-raw" {
			args = append(args, a)
		}
	}
	if s.RedisDown || s.Units["redis-server"] != "" && s.Units["redis-server"] != UnitActive {
		c.errf("Could not connect to Redis at 127.0.0.1:6379: Connection refused\n")
		return 1
	}
	if len(args) == 1 && strings.EqualFold(args[0], "ping") {
		c.outf("PONG\n")
		return 0
	}
	if len(args) != 2 {
		c.outf("ERR wrong number of arguments\n")
		return 1
	}
	switch strings.ToLower(args[0]) {
	case "smembers":
		if args[1] != "resque:queues" {
			return 0 // an empty set
		}
		var names []string
		for q := range s.ResqueQueues {
			names = append(names, q)
		}
		sort.Strings(names)
		for _, q := range names {
			c.outf("%s\n", q)
		}
		return 0
	case "llen":
		q, ok := strings.CutPrefix(args[1], "resque:queue:")
		n := 0
		if ok {
			n = s.ResqueQueues[q]
		}
		c.outf("%d\n", n)
		return 0
	}
	c.outf("ERR unknown command '%s'\n", args[0])
	return 1
}

// cmdPs answers `ps -eo args` (or `ps -e -o args`) with the processes a
// BBB server's Resque worker shows, after a few usual ones.
func cmdPs(c *cmd) int {
	a := strings.Join(c.args[1:], " ")
	if a != "-eo args" && a != "-e -o args" && a != "-eo args=" && a != "-e -o args=" {
		if c.fallback() {
			return notHandled
		}
		c.errf("ps: unsupported options %q\n", a)
		return 1
	}
	s, err := c.state()
	if err != nil {
		c.errf("ps: %v\n", err)
		return 1
	}
	if !strings.HasSuffix(a, "=") {
		c.outf("COMMAND\n")
	}
	c.outf("/sbin/init\n")
	if s.Units["redis-server"] == UnitActive {
		c.outf("/usr/bin/redis-server 127.0.0.1:6379\n")
	}
	if s.Units["bbb-rap-resque-worker"] == UnitActive {
		working := slices.Clone(s.ResqueWorking)
		sort.Strings(working)
		for _, q := range working {
			cl := resqueWorkerClass[q]
			if cl == "" {
				cl = "Worker"
			}
			c.outf("resque-2.0.0: Processing %s since 1764950000 [BigBlueButton::Resque::%s]\n", q, cl)
		}
		if len(working) == 0 {
			c.outf("resque-2.0.0: Waiting for rap:archive,rap:publish,rap:process,rap:sanity,rap:events\n")
		}
	}
	c.outf("sshd: bbbfleet\n")
	return 0
}
