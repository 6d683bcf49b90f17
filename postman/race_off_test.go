//go:build !race

package postman

const raceEnabled = false
