package syncclient

// SetQueueBound sets the bytes of frames e keeps in memory while the
// store applies a page (the rest waits in a spill file).
func SetQueueBound(e *Engine, n int) { e.queueBound = n }
