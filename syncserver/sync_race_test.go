//go:build race

package syncserver_test

// raceScale shrinks the volume of the heaviest test under the race
// detector, which makes byte-crunching ten times slower.
const raceScale = 2
