//go:build !unix

package httprun

import "time"

// processCPU is not measured here.
func processCPU() time.Duration { return 0 }
