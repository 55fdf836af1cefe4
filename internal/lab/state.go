package lab

import (
	"fmt"
	"os"
	"path/filepath"
)

// WipeState deletes middleware i's state folder contents, as a student who
// deletes state/ (or copies the project elsewhere) does: started again, it
// has no state. Stop it first.
func (l *Lab) WipeState(i int) error {
	files, err := filepath.Glob(filepath.Join(l.cfg.StateDir, fmt.Sprintf("middleware-%d-*", i)))
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("middleware %d has no state file in %s", i, l.cfg.StateDir)
	}
	for _, f := range files {
		if err := os.Remove(f); err != nil {
			return err
		}
	}
	return nil
}
