// Package assets holds files embedded in the programs, such as the icon.
package assets

import (
	_ "embed"

	"fyne.io/fyne/v2"
)

//go:embed icon.svg
var iconSVG []byte

// Icon is the lab's icon: messages arriving in different orders on the
// left and leaving in one agreed order on the right. Fyne renders SVG
// resources, window icons included.
var Icon = fyne.NewStaticResource("icon.svg", iconSVG)
