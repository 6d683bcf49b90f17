package ui

// tasks runs slow work off the UI goroutine: fetch runs on its own
// goroutine and returns the function that applies its result to widgets,
// which do then runs on the UI goroutine (fyne.Do in the app; tests pass a
// queue that the test goroutine drains, so every widget is touched from
// one goroutine there too).
type tasks struct{ do func(func()) }

// Go runs fetch in the background and its result, apply (if not nil), on
// the UI goroutine.
func (t *tasks) Go(fetch func() (apply func())) {
	go func() {
		if apply := fetch(); apply != nil {
			t.do(apply)
		}
	}()
}
