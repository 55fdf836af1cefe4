// Package display checks, before a window is opened, that there is a
// display to open it on, so that a program without one says so in one
// line instead of Fyne's window driver panicking with a stack trace.
package display

// Check returns an error that says what is wrong and what to do if the
// windows cannot be shown; nil if they can (or this system is not
// checked: Windows and macOS always have their desktop).
func Check() error { return check() }
