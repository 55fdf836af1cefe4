package gui

import "envfix"

// FixLocale replaces locale settings that Fyne cannot parse with
// en_US.UTF-8 (see package envfix, which already did so before Fyne
// initialised; calling it again covers changes made since).
func FixLocale() { envfix.Locale() }
