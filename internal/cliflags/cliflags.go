// Package cliflags parses command lines whose flags may come after the
// positional arguments too (`checkorder logs/*.jsonl -q`), which the
// standard flag package stops at.
package cliflags

import "flag"

// Parse parses args with fs, flags anywhere, and returns the positional
// arguments in order. Its error is fs.Parse's (flag.ErrHelp for -h).
func Parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}
