package cmd

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"
)

func newVersionCmd(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit and build date",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			format, err := app.outputFormat()
			if err != nil {
				return err
			}
			if format == "json" {
				return app.IO.JSON(map[string]string{"version": version, "commit": commit, "date": date, "go": runtime.Version()})
			}
			_, err = fmt.Fprintf(app.IO.Out, "bbbfleet %s (commit %s, built %s, %s)\n", version, commit, date, runtime.Version())
			return err
		},
	}
}

func newExitCodesTopic() *cobra.Command {
	return &cobra.Command{
		Use:   "exit-codes",
		Short: "What bbbfleet's exit codes mean",
		Long:  exitCodesHelp,
	}
}
