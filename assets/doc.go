// Package assets holds the files Courier embeds: the application icon.
//
// icon.png is drawn by the program in genicon; run `go generate
// ./assets` to draw it again.
package assets
