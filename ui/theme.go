package ui

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"

	"github.com/courierapp/courier/app"
)

// variantTheme is the default theme held to one variant (light or dark).
type variantTheme struct {
	fyne.Theme
	variant fyne.ThemeVariant
}

// Color returns the default theme's colour in the held variant.
func (t variantTheme) Color(n fyne.ThemeColorName, _ fyne.ThemeVariant) color.Color {
	return t.Theme.Color(n, t.variant)
}

// themeFor returns the Fyne theme for a setting: the system's variant,
// light or dark.
func themeFor(name string) fyne.Theme {
	switch name {
	case app.ThemeLight:
		return variantTheme{theme.DefaultTheme(), theme.VariantLight}
	case app.ThemeDark:
		return variantTheme{theme.DefaultTheme(), theme.VariantDark}
	}
	return theme.DefaultTheme()
}
