package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Version is the release, set at link time with
// -ldflags "-X github.com/cairndb/cairn/internal/cli.Version=v1.2.3";
// otherwise the module version from the build info, or "dev".
var Version = ""

func version() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

func (e *env) newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  args(cobra.NoArgs),
		RunE: func(*cobra.Command, []string) error {
			if e.json {
				return e.printJSON(map[string]string{"version": version(), "go": runtime.Version()})
			}
			_, err := fmt.Fprintf(e.stdout, "cairn %s (%s)\n", version(), runtime.Version())
			return err
		},
	}
}
