// Package app is Courier's application core: the use cases that the desktop
// UI and the headless CLI both call (send a request, save it, manage
// collections, environments, header presets and history, settings), the
// small interfaces it needs from the outside (Store, Clock, and later
// Secrets and Syncer), and observable state for the views.
//
// It imports model and the pure packages (httprun, postman, vault), never
// Fyne, bbolt, websocket or keyring code.
package app
