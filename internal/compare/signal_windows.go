package compare

import (
	"errors"
	"os"
)

// pauseSignals: Windows has no SIGSTOP/SIGCONT.
func pauseSignals() (stop, cont os.Signal, err error) {
	return nil, nil, errors.New("-pause needs SIGSTOP and SIGCONT, which Windows does not have: run it on Linux or macOS, or leave out -pause")
}
