package fleet

import (
	"context"
	"fmt"
	"strings"

	"github.com/bbbfleet/bbbfleet/pkg/bbb"
	"github.com/bbbfleet/bbbfleet/pkg/ssh"
)

// registerInstall adds a freshly installed server to Scalelite and enables
// it. rake servers:add[URL,SECRET,1] would put the secret on a remote
// command line (visible in ps and in shell histories); instead a constant
// Ruby program runs under `bin/rails runner` in the container and reads
// the URL and the secret from its standard input (docker exec -i).
func (o *Operation) registerInstall(ctx context.Context, r *serverRun, ir *installRun) error {
	v := o.scalelite(ctx)
	if v == nil {
		return skip("Scalelite is not configured")
	}
	if v.err != nil {
		return fmt.Errorf("the server is installed but could not be registered in Scalelite: %w", v.err)
	}
	if en := v.entry(r.s); en != nil {
		if en.State != bbb.ScaleliteEnabled {
			if err := o.setScalelite(ctx, "enable", en); err != nil {
				return fmt.Errorf("registered in Scalelite (id %s) but could not be enabled: %w", en.ID, err)
			}
		}
		r.enabled = true
		r.done(fmt.Sprintf("registered in Scalelite already (id %s), enabled", en.ID), nil, map[string]any{"scalelite_id": en.ID})
		return nil
	}
	if ir.secret == "" {
		return fmt.Errorf("no secret was captured: cannot register")
	}
	host, _ := o.Env.Config.ScaleliteHost()
	url := strings.TrimSuffix(r.s.API.URL, "/")
	var res *ssh.Result
	err := o.call(ctx, func(ctx context.Context) error {
		var err error
		res, err = o.remote(ctx, host, ssh.Command{Argv: bbb.ScaleliteAddArgv(o.Env.Config.ScaleliteContainer()), Sudo: true,
			Stdin: strings.NewReader(url + "\n" + ir.secret + "\n")})
		return err
	})
	if err != nil {
		out := ""
		if res != nil {
			out = firstLine(strings.ReplaceAll(string(res.Stdout)+"\n"+string(res.Stderr), ir.secret, "[secret]"))
		}
		return &ScaleliteError{Host: host.Host, Err: trimPrefixErr(err, host.Name), Out: out}
	}
	id, err := bbb.ParseScaleliteAdded(string(res.Stdout))
	if err != nil {
		return &ScaleliteError{Host: host.Host, Err: err}
	}
	en := &bbb.ScaleliteServer{ID: id, URL: url, State: bbb.ScaleliteDisabled}
	if err := o.setScalelite(ctx, "enable", en); err != nil {
		return fmt.Errorf("added to Scalelite (id %s, disabled) but not enabled: %w", id, err)
	}
	r.enabled = true
	r.done(fmt.Sprintf("added to Scalelite (id %s) and enabled", id), nil, map[string]any{"scalelite_id": id})
	return nil
}
