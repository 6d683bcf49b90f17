package ui

import (
	"fmt"
	"time"
)

// formatDuration writes d in milliseconds below ten seconds, else seconds.
func formatDuration(d time.Duration) string {
	switch {
	case d <= 0:
		return "0 ms"
	case d < time.Millisecond:
		return fmt.Sprintf("%d µs", d.Microseconds())
	case d < 10*time.Second:
		return fmt.Sprintf("%d ms", d.Milliseconds())
	}
	return fmt.Sprintf("%.1f s", d.Seconds())
}

func durationOf(ns float64) time.Duration { return time.Duration(ns) }
