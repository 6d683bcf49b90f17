// Package smoke starts the real courier binary in a real X server (Xvfb)
// and checks that its window appears and draws something, and measures
// its cold start against a hello-world Fyne window in the same run.
//
// The tests need Xvfb, xdotool and ImageMagick's import, and build with
// the xvfb tag:
//
//	go test -tags xvfb ./ui/smoke
//	go test -tags xvfb -run '^$' -bench ColdStart -count 5 ./ui/smoke
package smoke
