package fleet

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// PushAudit appends the audit line of one server's push: what changed and
// the sha256 before and after, never the file's content.
func (a *AuditLog) PushAudit(server string, spec PushSpec, r *PushResult, err error, d time.Duration) {
	rec := AuditRecord{Time: time.Now().UTC(), User: a.user, Command: a.command, Server: server, Action: "push",
		Step: "push", DurationMS: d.Milliseconds()}
	before, after := "none", "none"
	if r != nil && r.Before != nil {
		before = r.Before.SHA256
	}
	if r != nil && r.After != nil {
		after = r.After.SHA256
	} else if r != nil && r.Before != nil {
		after = r.Before.SHA256
	}
	sums := fmt.Sprintf("sha256 %s -> %s", before, after)
	switch {
	case err != nil && errors.Is(err, context.Canceled):
		rec.Result, rec.Message = "interrupted", spec.Remote+": interrupted ("+sums+")"
	case err != nil:
		rec.Result, rec.Message = "failed", spec.Remote+": "+err.Error()+" ("+sums+")"
	case r == nil || len(r.Changes) == 0:
		rec.Result, rec.Message = "skipped", spec.Remote+": unchanged ("+sums+")"
	default:
		rec.Result, rec.Message = "done", spec.Remote+": "+strings.Join(r.Changes, ", ")+" ("+sums+")"
	}
	a.Write(rec)
}
