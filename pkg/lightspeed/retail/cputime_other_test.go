//go:build !unix

package retail

import "time"

// processCPU is not measured here.
func processCPU() time.Duration { return 0 }
