package cli

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

func (e *env) newPutCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "put <key> [value]",
		Short: "Write a key",
		Long: `Write value at key and print OK. Without a value argument, the value is
all of stdin, byte for byte (a trailing newline is kept: use printf, not echo,
to avoid one).`,
		Args: args(cobra.RangeArgs(1, 2)),
		RunE: func(cmd *cobra.Command, a []string) error {
			c, err := e.client()
			if err != nil {
				return err
			}
			var value []byte
			if len(a) == 2 {
				value = []byte(a[1])
			} else if value, err = io.ReadAll(e.stdin); err != nil {
				return fmt.Errorf("read value from stdin: %w", err)
			}
			resp, err := c.Put(cmd.Context(), []byte(a[0]), value)
			if err != nil {
				return err
			}
			if e.json {
				return e.printJSON(resp)
			}
			fmt.Fprintln(e.stdout, "OK")
			return nil
		},
	}
}
