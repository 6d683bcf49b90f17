//go:build race

package postman

// raceEnabled: the race detector slows big tests down about tenfold.
const raceEnabled = true
