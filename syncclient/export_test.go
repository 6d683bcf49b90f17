package syncclient

import "time"

// SetQueueBound sets the bytes of frames e keeps in memory while the
// store applies a page (the rest waits in a spill file).
func SetQueueBound(e *Engine, n int) { e.queueBound = n }

// SetEchoHold sets how long e holds the echoes of its own pushes before
// applying them: quiet after the last, at most max after the first.
func SetEchoHold(e *Engine, quiet, max time.Duration) {
	e.echoHold.quiet, e.echoHold.max = quiet, max
}

// MaxJoinChanges bounds the changes of the pages a connection applies in
// one commit.
const MaxJoinChanges = maxJoinChanges
