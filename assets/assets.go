package assets

import (
	_ "embed"

	"fyne.io/fyne/v2"
)

//go:generate go run ./genicon -o icon.png

//go:embed icon.png
var iconPNG []byte

// Icon returns the application icon (a 256x256 PNG).
func Icon() fyne.Resource { return fyne.NewStaticResource("icon.png", iconPNG) }
