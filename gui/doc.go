// Package gui holds the lab's Fyne windows: one per middleware
// (NewMiddlewareWindow: its lists, and an Auction tab whose replica of
// package auction is fed by the same Ready events, after those of earlier
// runs read back from the events log: package replay), one for the
// network program (NewNetworkWindow) and the timeline. It is a view: no
// protocol logic lives here.
//
// Widgets are only touched on Fyne's UI thread. Every window refreshes
// through one loop (refresher): events from a middleware are buffered
// under a mutex and drawn at most 25 times a second through fyne.Do,
// status lines and scenes are read and painted off the UI thread, so a
// busy middleware never freezes its window.
//
// The package does not import fyne.io/fyne/v2/app (the mains do), so its
// tests run with Fyne's test driver, without a display or cgo. Mains
// import totalorder/internal/envfix, which repairs an unusable locale before Fyne reads it.
package gui
